import { expect } from "chai";
import fc from "fast-check";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { formatPeriod } from "../../../lib/periods";
import { Role } from "../../../lib/roles";
import { type AnchoringWorker } from "../../../gateway/src/anchoring";
import { ChainView } from "../../../gateway/src/audit/chain-view";
import {
  type Checkpoint,
  anchorLeaf,
  anchorLeaves,
  canonicalText,
  consistencyBetween,
  encodeSince,
  logRoot,
  readAnchors,
  signCheckpoint,
  verifyCheckpointConsistency,
  verifyCheckpointSignature,
} from "../../../gateway/src/audit/checkpoints";
import { type AuditBundle, parseAuditBundle } from "../../../gateway/src/audit/bundles";
import { UNANCHORED_HEADER } from "../../../gateway/src/audit/bundle-routes";
import {
  type Verification,
  type VerifyOptions,
  verifyAuditBundle,
  verifyDocument,
} from "../../../gateway/src/audit/verifier";
import { issueReceipt } from "../../../gateway/src/beneficiary/receipts";
import { bundleOf } from "../../../gateway/src/beneficiary/receipts";
import { GATEWAY_ACTORS } from "../../../gateway/src/context";
import { registerInstitution } from "../../../gateway/src/institutions/registry";
import { MONTHLY, type PayoutKey } from "../../../gateway/src/ledger";
import { payoutIdOf } from "../../../gateway/src/payouts/ids";
import { LOCAL_REGIONS } from "../../../gateway/src/seed/local";
import { EMPTY_ROOT, consistencyProof, buildTree } from "../../../lib/merkle";
import { type TestGateway, startTestGateway } from "../api/harness";
import {
  TEKUN,
  type TestCase,
  anchorer,
  approveCases,
  fundPool,
  residentId,
  settle,
  submittedCase,
} from "../beneficiary/fixtures";

const TS_NODE = require.resolve("ts-node/dist/bin.js");

/** Runs `npm run verify`'s script asynchronously (a synchronous spawn would block the in-process gateway). */
function runVerify(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TS_NODE, "--transpile-only", "scripts/verify.ts", ...args],
      { cwd: path.join(__dirname, "..", "..", ".."), timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function failed(v: Verification): string[] {
  return v.checks.filter((c) => c.ok === false).map((c) => c.check);
}

function expectValid(v: Verification): void {
  expect(failed(v), JSON.stringify(v.checks, null, 1)).to.deep.equal([]);
  expect(v.valid).to.equal(true);
}

describe("audit bundles, checkpoints and the offline verifier", function () {
  this.timeout(120_000);
  let tg: TestGateway;
  let worker: AnchoringWorker;
  let cases: TestCase[];
  let keys: PayoutKey[];
  let period: number;
  let options: VerifyOptions;
  let view: ChainView;
  let dir: string;
  let deploymentFile: string;
  let otherAuditor: string;
  const personal: string[] = [];

  before(async function () {
    tg = await startTestGateway();
    const ctx = tg.gateway.ctx;
    worker = anchorer(tg);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relief-bundles-"));
    deploymentFile = path.join(dir, "deployment.json");
    fs.writeFileSync(
      deploymentFile,
      JSON.stringify({ ...tg.deployment, chainId: tg.deployment.chainId.toString() }, null, 2),
    );
    view = new ChainView(ctx.rpcUrl, tg.deployment.chainId, tg.deployment.addresses);
    options = { chain: { view, events: ctx.ledger.events.bind(ctx.ledger) }, expected: tg.deployment };
    otherAuditor = `Bearer ${
      (
        await registerInstitution(ctx, {
          id: "fengtai-auditor",
          name: "豐台區審計局",
          role: Role.Auditor,
          region: 110106n,
        })
      ).apiKey!.token
    }`;

    await fundPool(tg, TEKUN, 10_000_000n);
    cases = [];
    for (const n of [31, 32, 33]) {
      const c = await submittedCase(tg, residentId(n));
      personal.push(c.residentId);
      cases.push(c);
    }
    personal.push("測試人", "建外街道1號");
    // Two approved and paid (the payouts noted in the store with their transaction), one left in notice.
    await approveCases(tg, cases.slice(0, 2));
    period = await ctx.ledger.currentPeriod();
    const run = await ctx.ledger.executePayouts("county-finance", {
      programmeId: TEKUN,
      period,
      caseIds: cases.slice(0, 2).map((c) => c.caseId),
    });
    const tx = run.transactions[0];
    keys = cases.slice(0, 2).map((c) => ({ caseId: c.caseId, period, eventId: MONTHLY }));
    await ctx.store.putPayouts(
      keys.map((key) => ({
        payoutId: payoutIdOf(key),
        caseId: key.caseId,
        period,
        eventId: MONTHLY,
        programmeId: TEKUN,
        regionCode: Number(LOCAL_REGIONS.township),
        amount: 80_000n,
        runId: null,
        txHash: tx.txHash,
        blockNumber: tx.blockNumber,
      })),
    );
    await settle(tg, [keys[0]]);
    // Case 0's beneficiary confirms: a receipt record, attested on chain.
    const kase = (await ctx.store.getCase(cases[0].caseId))!;
    await issueReceipt(
      ctx,
      "beneficiary:test",
      { key: keys[0], payoutId: payoutIdOf(keys[0]), kase, state: await ctx.ledger.payoutStatus(keys[0]) },
      "confirmed",
    );
    await worker.runOnce();
  });

  after(async function () {
    await view?.close();
    await tg?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, auth: string | null = tg.auth("county-auditor")) => {
    const req = tg.http
      .get(url)
      .buffer(true)
      .parse((res, cb) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => cb(null, text));
      });
    return auth === null ? req : req.set("Authorization", auth);
  };
  const caseUrl = () => `/v1/cases/${cases[0].caseId}/bundle`;
  const periodUrl = () => `/v1/programmes/${TEKUN}/periods/${formatPeriod(period)}/bundle`;

  describe("GET /v1/checkpoint", function () {
    it("is public, signed by the gateway's key, and recomputed from the chain alone", async function () {
      const res = await get("/v1/checkpoint", null);

      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^application\/json/);
      const cp = JSON.parse(res.body) as Checkpoint;
      expect(res.body).to.equal(canonicalText(cp));
      expect(cp).to.include({
        format: "relief-checkpoint-v1",
        chainId: tg.deployment.chainId.toString(),
        anchorLog: tg.deployment.addresses.anchors,
        size: await tg.gateway.ctx.ledger.anchorCount(),
      });
      expect(cp.signer).to.deep.equal({
        publicKeyPem: tg.gateway.ctx.keyring.signingPublicKeyPem,
        account: tg.gateway.ctx.ledger.accountOf(GATEWAY_ACTORS.anchorer),
      });
      expect(verifyCheckpointSignature(cp)).to.equal(true);
      const anchors = await readAnchors(view, cp.size);
      expect(logRoot(anchorLeaves(anchors))).to.equal(cp.root);

      const v = await verifyDocument(res.body, options);
      expectValid(v);
      expect(v.checks.find((c) => c.check === "checkpoint-signer-on-chain")?.ok).to.equal(true);
      expect(v.checks.find((c) => c.check === "checkpoint-on-chain")?.ok).to.equal(true);
    });

    it("the endpoints are in the OpenAPI document, the checkpoint ones without security", async function () {
      const res = await tg.http.get("/openapi.json").expect(200);
      const paths = res.body.paths as Record<string, Record<string, { security?: unknown[] }>>;
      for (const p of [
        "/v1/records/{recordId}/bundle",
        "/v1/cases/{caseId}/bundle",
        "/v1/programmes/{programmeId}/periods/{period}/bundle",
      ]) {
        expect(paths[p]?.get, p).to.not.equal(undefined);
      }
      expect(paths["/v1/checkpoint"].get.security).to.deep.equal([]);
      expect(paths["/v1/checkpoint/consistency"].get.security).to.deep.equal([]);
    });

    it("anchor leaves follow the documented 94-byte layout", function () {
      const fields = {
        sequence: 1,
        root: "0x" + "ab".repeat(32),
        firstRecordIndex: 2,
        recordCount: 3,
        region: 110105n,
        blockNumber: 4,
      };
      const u64 = (n: number | bigint) => BigInt(n).toString(16).padStart(16, "0");
      const bytes =
        Buffer.from("relief-anchor-leaf-v1\0").toString("hex") +
        u64(1) +
        "ab".repeat(32) +
        u64(2) +
        u64(3) +
        u64(110105) +
        u64(4);
      expect(bytes.length / 2).to.equal(94);
      expect(anchorLeaf(fields)).to.equal(keccak256("0x" + bytes));
      expect(logRoot([])).to.equal(EMPTY_ROOT);
    });
  });

  describe("audit bundles", function () {
    let recordText: string;
    let caseText: string;
    let periodText: string;

    it("a record bundle: canonical JSON, one record with its proof, verified offline and on chain", async function () {
      const res = await get(`/v1/records/${cases[0].record.id}/bundle`);

      expect(res.status).to.equal(200);
      expect(res.headers[UNANCHORED_HEADER.toLowerCase()]).to.equal("0");
      recordText = res.body;
      const bundle = JSON.parse(recordText) as AuditBundle;
      expect(recordText).to.equal(canonicalText(bundle));
      expect(bundle.subject).to.deep.equal({ kind: "record", recordId: cases[0].record.id });
      expect(bundle.records).to.have.length(1);
      expect(bundle.records[0]).to.include({
        recordId: cases[0].record.id,
        kind: "application",
        digest: cases[0].record.digest,
        envelope: cases[0].record.envelope.toString("base64"),
      });
      expect(bundle.chainFacts).to.equal(undefined);
      expect(bundle.anchors.map((a) => a.sequence)).to.deep.equal([bundle.records[0].proof.anchorSequence]);

      const onChain = await verifyDocument(recordText, options);
      expectValid(onChain);
      expect(onChain.checks.filter((c) => c.ok === null).map((c) => c.check)).to.deep.equal(["consistency"]);
      const offline = await verifyDocument(recordText);
      expectValid(offline);
      expect(offline.checks.filter((c) => c.ok === null).map((c) => c.check)).to.include.members([
        "anchors-on-chain",
        "proofs-on-chain",
        "checkpoint-on-chain",
        "checkpoint-signer-on-chain",
      ]);
    });

    it("a case bundle: its records (the receipt's too), its state on chain, payouts with statuses and receipts", async function () {
      const res = await get(caseUrl());

      expect(res.status).to.equal(200);
      caseText = res.body;
      const bundle = parseAuditBundle(JSON.parse(caseText));
      expect(bundle.subject).to.deep.equal({ kind: "case", caseId: cases[0].caseId });
      expect(bundle.records.map((r) => r.kind).sort()).to.deep.equal(["application", "receipt"]);
      const facts = bundle.chainFacts!;
      expect(facts.atBlock).to.equal(bundle.checkpoint.blockNumber);
      expect(facts.cases).to.have.length(1);
      expect(facts.cases[0]).to.include({
        caseId: cases[0].caseId,
        status: "approved",
        programmeId: TEKUN,
        amount: "80000",
        recordDigest: cases[0].record.digest,
      });
      const [payout] = facts.cases[0].payouts;
      expect(payout).to.include({ payoutId: payoutIdOf(keys[0]), amount: "80000", status: "settled", period });
      expect(payout.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(payout.receipt.outcome).to.equal("confirmed");
      expect(payout.receipt.source).to.equal("attestation");
      expect(payout.receipt.txHash).to.match(/^0x[0-9a-f]{64}$/);

      const v = await verifyDocument(caseText, options);
      expectValid(v);
      expect(v.checks.find((c) => c.check === "chain-facts")?.ok).to.equal(true);
      expectValid(await verifyDocument(caseText));
    });

    it("a programme-period bundle: the programme's cases in the region, their records and that period's payouts", async function () {
      const res = await get(periodUrl());

      expect(res.status).to.equal(200);
      periodText = res.body;
      const bundle = parseAuditBundle(JSON.parse(periodText));
      expect(bundle.subject).to.deep.equal({
        kind: "programme-period",
        programmeId: TEKUN,
        period: formatPeriod(period),
      });
      const facts = bundle.chainFacts!.cases;
      const ours = facts.filter((c) => cases.some((k) => k.caseId === c.caseId));
      expect(ours.map((c) => [c.status, c.payouts.map((p) => p.status)])).to.have.deep.members([
        ["approved", ["settled"]],
        ["approved", ["paid"]],
        ["in-notice", []],
      ]);
      expectValid(await verifyDocument(periodText, options));
    });

    it("hold none of the personal strings used, and their export is in the audit log with ids and counts only", async function () {
      for (const text of [recordText, caseText, periodText]) {
        for (const s of personal) expect(text).to.not.include(s);
        // Envelopes are ciphertext: the plaintext is not in them either.
        for (const r of (JSON.parse(text) as AuditBundle).records) {
          const bytes = Buffer.from(r.envelope ?? r.receipt!.canonical, r.envelope ? "base64" : "utf8").toString(
            "utf8",
          );
          for (const s of personal) expect(bytes).to.not.include(s);
        }
      }
      const entries = await tg.gateway.ctx.store.listAudit({ action: "audit.bundle-exported" });
      expect(entries.length).to.be.at.least(3);
      for (const e of entries) for (const s of personal) expect(JSON.stringify(e)).to.not.include(s);
    });

    it("checks role and region: other roles 403 FORBIDDEN_ROLE, another region 403 OUTSIDE_REGION, 401, 404, 409, 400", async function () {
      expect((await get(caseUrl(), null)).status).to.equal(401);
      const bank = await get(caseUrl(), tg.auth("county-bank"));
      expect(bank.status).to.equal(403);
      expect(JSON.parse(bank.body).error.code).to.equal("FORBIDDEN_ROLE");
      for (const url of [caseUrl(), `/v1/records/${cases[0].record.id}/bundle`]) {
        const other = await get(url, otherAuditor);
        expect(other.status).to.equal(403);
        expect(JSON.parse(other.body).error.code).to.equal("OUTSIDE_REGION");
      }
      const otherPeriod = await get(`${periodUrl()}?region=110105`, otherAuditor);
      expect(otherPeriod.status).to.equal(403);
      expect(JSON.parse(otherPeriod.body).error.code).to.equal("OUTSIDE_REGION");
      // Another region's auditor sees none of these cases in its own region's bundle.
      const own = await get(periodUrl(), otherAuditor);
      expect(own.status).to.equal(200);
      expect(JSON.parse(own.body).chainFacts.cases).to.deep.equal([]);

      const missing = await get("/v1/records/rec_00000000000000000000000000/bundle");
      expect(missing.status).to.equal(404);
      expect(JSON.parse(missing.body).error.code).to.equal("NOT_FOUND");
      const badSince = await get(`${caseUrl()}?since=not-a-checkpoint`);
      expect(badSince.status).to.equal(400);
      expect(JSON.parse(badSince.body).error).to.include({ code: "VALIDATION_FAILED", field: "since" });
      const badPeriod = await get(`/v1/programmes/${TEKUN}/periods/2026-13/bundle`);
      expect(badPeriod.status).to.equal(400);

      // A record not anchored yet: 409, and its case's bundle counts it in the header.
      const fresh = await submittedCase(tg, residentId(39));
      personal.push(fresh.residentId);
      const pending = await get(`/v1/records/${fresh.record.id}/bundle`);
      expect(pending.status).to.equal(409);
      expect(JSON.parse(pending.body).error.code).to.equal("CONFLICT");
      const freshCase = await get(`/v1/cases/${fresh.caseId}/bundle`);
      expect(freshCase.status).to.equal(200);
      expect(freshCase.headers[UNANCHORED_HEADER.toLowerCase()]).to.equal("1");
      expect(JSON.parse(freshCase.body).records).to.deep.equal([]);
      // The chain names an application record the bundle does not hold: the verifier says so.
      const v = await verifyDocument(freshCase.body, options);
      expect(failed(v)).to.deep.equal(["chain-facts"]);
    });

    /** The checks a changed file fails ("format" alone: not JSON, not canonical, or not a well-formed bundle). */
    async function failures(text: Buffer, verify: VerifyOptions): Promise<string[]> {
      return failed(await verifyDocument(text.toString("utf8"), verify));
    }

    /** Byte classes whose members replace each other and keep a file parseable (digits, hex digits, base64). */
    const CLASSES = [
      "0123456789",
      "0123456789abcdef",
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    ];

    /**
     * Whether the verifier, with the chain, rejects `mutated`. Offline first: every check that runs offline also runs,
     * identically, with the chain, so an offline rejection is a rejection with the chain (and costs no RPC call).
     */
    async function rejectedWithChain(
      mutated: Buffer,
    ): Promise<{ rejected: boolean; by: "format" | "offline" | "chain" }> {
      const offline = await failures(mutated, {});
      if (offline.includes("format")) return { rejected: true, by: "format" };
      if (offline.length > 0) return { rejected: true, by: "offline" };
      return { rejected: (await failures(mutated, options)).length > 0, by: "chain" };
    }

    /**
     * Changes every byte of `text` once, to the next byte of its class (a digit for a digit, a hex digit for a hex
     * digit, a base64 character for one; any other byte to the next byte value), so that most changed files still
     * parse and reach the checks behind the format; checks each with the chain, a few at a time. Returns how many
     * were rejected by what; fails naming every accepted change.
     */
    async function everyByteChanged(
      text: string,
      { envelopes }: { envelopes: boolean },
    ): Promise<Record<"format" | "offline" | "chain", number>> {
      const original = Buffer.from(text, "utf8");
      expect(await failures(original, options)).to.deep.equal([]);
      const by = { format: 0, offline: 0, chain: 0 };
      const accepted: string[] = [];
      const inEnvelope = [...text.matchAll(/"envelope":"([^"]*)"/g)].map((m) => [m.index!, m.index! + m[0].length]);
      // (The bundles are ASCII: character positions are byte positions.)
      const positions = Array.from({ length: original.length }, (_, i) => i).filter(
        (i) => envelopes || !inEnvelope.some(([a, b]) => i >= a && i < b),
      );
      for (let from = 0; from < positions.length; from += 16) {
        await Promise.all(
          positions.slice(from, from + 16).map(async (i) => {
            const own = String.fromCharCode(original[i]);
            const alphabet = CLASSES.find((c) => c.includes(own));
            const b = alphabet
              ? alphabet.charCodeAt((alphabet.indexOf(own) + 1) % alphabet.length)
              : (original[i] + 1) % 256;
            const mutated = Buffer.from(original);
            mutated[i] = b;
            const r = await rejectedWithChain(mutated);
            by[r.by] += r.rejected ? 1 : 0;
            if (!r.rejected)
              accepted.push(
                `byte ${i} (${JSON.stringify(own)} → ${JSON.stringify(String.fromCharCode(b))}) near ${JSON.stringify(text.slice(Math.max(0, i - 40), i + 20))}`,
              );
          }),
        );
      }
      expect(accepted, "changes the verifier accepted").to.deep.equal([]);
      return by;
    }

    // Every byte position of each kind of bundle, one change each (found once: a receipt record's schema version,
    // which nothing commits to, was accepted changed; receipt records no longer carry a region or schema version).
    // The programme-period bundle's envelopes are left out: the same check on the same kind of bytes as in the
    // other two, and a third of its length.
    for (const [name, text, envelopes] of [
      ["case", () => caseText, true],
      ["record", () => recordText, true],
      ["programme-period", () => periodText, false],
    ] as const) {
      it(`every byte of a ${name} bundle${envelopes ? "" : " outside its envelopes"}, changed, is rejected (with the chain)`, async function () {
        const by = await everyByteChanged(text(), { envelopes });
        // Not only the parser: many changes parse and are caught by a digest, proof, signature or the chain.
        expect(by.offline, JSON.stringify(by)).to.be.greaterThan(by.format / 2);
        expect(by.chain, JSON.stringify(by)).to.be.greaterThan(0);
        console.log(`      ${name} bundle: ${text().length} bytes; changes rejected by ${JSON.stringify(by)}`);
      });
    }

    it("every single-byte change to a case bundle is rejected: any byte at any position (verified against the chain)", async function () {
      const original = Buffer.from(caseText, "utf8");
      // The new byte is any byte, or one of the same class as the old, so that many changed files still parse.
      const change = fc.record({
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
        pick: fc.nat(),
        similar: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(change, async ({ at, byte, pick, similar }) => {
          const i = at % original.length;
          const own = String.fromCharCode(original[i]);
          const alphabet = CLASSES.find((c) => c.includes(own));
          const b = similar && alphabet ? alphabet.charCodeAt(pick % alphabet.length) : byte;
          fc.pre(original[i] !== b);
          const mutated = Buffer.from(original);
          mutated[i] = b;
          expect((await rejectedWithChain(mutated)).rejected, `byte ${i} (${JSON.stringify(own)}) → ${b}`).to.equal(
            true,
          );
        }),
        { numRuns: 300 },
      );
    });

    it("a bundle re-signed by a lying gateway still fails: a changed envelope, anchor, payout or receipt", async function () {
      const ctx = tg.gateway.ctx;
      const account = ctx.ledger.accountOf(GATEWAY_ACTORS.anchorer);
      const resign = (b: AuditBundle) => ({
        ...b,
        checkpoint: signCheckpoint(b.checkpoint, ctx.keyring.signingKey, account),
      });
      const base = () => JSON.parse(caseText) as AuditBundle;

      const envelope = base();
      const app = envelope.records.find((r) => r.kind === "application")!;
      const bytes = Buffer.from(app.envelope!, "base64");
      bytes[bytes.length - 1] ^= 1;
      app.envelope = bytes.toString("base64");
      expect(failed(await verifyAuditBundle(resign(envelope), options))).to.deep.equal(["record-digests"]);

      const paid = base();
      paid.chainFacts!.cases[0].payouts[0].amount = "90000";
      expect(failed(await verifyAuditBundle(resign(paid), options))).to.deep.equal(["chain-facts"]);

      const unsettled = base();
      unsettled.chainFacts!.cases[0].payouts[0].status = "paid";
      expect(failed(await verifyAuditBundle(resign(unsettled), options))).to.deep.equal(["chain-facts"]);

      const dropped = base();
      dropped.chainFacts!.cases[0].payouts = [];
      expect(failed(await verifyAuditBundle(resign(dropped), options))).to.deep.equal(["chain-facts"]);

      // A forged anchor (its own root, its leaf re-proved in a forged checkpoint): offline it holds together, the
      // chain refuses it.
      const forged = base();
      const anchor = forged.anchors[0];
      anchor.region = "110106";
      const leaves = anchorLeaves(await readAnchors(view, forged.checkpoint.size));
      leaves[anchor.sequence] = anchorLeaf({ ...anchor, region: 110106n });
      const tree = buildTree(leaves);
      forged.checkpoint = { ...forged.checkpoint, root: tree.root };
      const { inclusionProof } = await import("../../../lib/merkle");
      anchor.checkpointProof = inclusionProof(tree, anchor.sequence);
      const offline = await verifyAuditBundle(resign(forged));
      expectValid(offline);
      expect(failed(await verifyAuditBundle(resign(forged), options))).to.have.members([
        "anchors-on-chain",
        "checkpoint-on-chain",
      ]);
    });
  });

  describe("the anchor log's consistency", function () {
    let old: Checkpoint;
    let oldText: string;
    let current: Checkpoint;

    it("a checkpoint at n anchors, more anchors added: the new checkpoint extends the old one", async function () {
      oldText = (await get("/v1/checkpoint", null)).body;
      old = JSON.parse(oldText) as Checkpoint;
      for (const n of [41, 42]) {
        const c = await submittedCase(tg, residentId(n));
        personal.push(c.residentId);
        await worker.runOnce();
      }
      const res = await get(`/v1/checkpoint/consistency?since=${encodeSince(old)}`, null);

      expect(res.status).to.equal(200);
      const doc = JSON.parse(res.body);
      current = doc.to;
      expect(doc.format).to.equal("relief-consistency-v1");
      expect(doc.from).to.deep.equal(old);
      expect(current.size).to.be.greaterThan(old.size);
      expect(verifyCheckpointConsistency(old, current, doc.proof).ok).to.equal(true);
      expectValid(await verifyDocument(res.body, options));
      expectValid(await verifyDocument(res.body));
      // Through the checkpoint pair: the new checkpoint and the kept one, with the chain.
      expectValid(await verifyDocument(canonicalText(current), { ...options, since: old }));
    });

    it("a bundle asked for ?since= carries the consistency proof from that checkpoint, and verifies with --since", async function () {
      const res = await get(`${caseUrl()}?since=${encodeSince(old)}`);

      expect(res.status).to.equal(200);
      const bundle = JSON.parse(res.body) as AuditBundle;
      expect(bundle.consistency!.from).to.deep.equal(old);
      const v = await verifyDocument(res.body, { ...options, since: old });
      expectValid(v);
      expect(v.checks.find((c) => c.check === "consistency")?.ok).to.equal(true);
      expect(v.checks.find((c) => c.check === "since")?.ok).to.equal(true);
      // Offline too: the proof is in the bundle.
      expectValid(await verifyDocument(res.body, { since: old }));
    });

    it("a rewritten history is caught by whoever kept the old checkpoint", async function () {
      const ctx = tg.gateway.ctx;
      const account = ctx.ledger.accountOf(GATEWAY_ACTORS.anchorer);
      const anchors = await readAnchors(view, current.size);
      const leaves = anchorLeaves(anchors);

      // A rewritten log: anchor 0 replaced, everything after kept, re-signed by the gateway with its own
      // consistency proof from its rewritten tree.
      const rewritten = [...leaves];
      rewritten[0] = anchorLeaf({ ...anchors[0], sequence: 0, root: keccak256(toUtf8Bytes("another batch")) });
      const forgedNew = signCheckpoint(
        { ...current, root: logRoot(rewritten), signature: undefined, signer: undefined },
        ctx.keyring.signingKey,
        account,
      );
      const forgedProof = consistencyProof(buildTree(rewritten), old.size, current.size);
      const r = verifyCheckpointConsistency(old, forgedNew, forgedProof);
      expect(r.ok).to.equal(false);
      expect(r.detail).to.match(/does NOT extend/);
      const doc = canonicalText({ format: "relief-consistency-v1", from: old, to: forgedNew, proof: forgedProof });
      expect(failed(await verifyDocument(doc))).to.deep.equal(["consistency"]);
      expect(failed(await verifyDocument(doc, options))).to.include.members(["consistency", "checkpoint-on-chain"]);

      // A forged old checkpoint (a history the chain never had): the gateway refuses to prove it, the verifier too.
      const forgedOld = signCheckpoint(
        { ...old, root: logRoot(rewritten, old.size), signature: undefined, signer: undefined },
        ctx.keyring.signingKey,
        account,
      );
      const res = await get(`/v1/checkpoint/consistency?since=${encodeSince(forgedOld)}`, null);
      expect(res.status).to.equal(409);
      expect(JSON.parse(res.body).error).to.include({ code: "CONFLICT", field: "since" });
      try {
        await consistencyBetween(view, forgedOld, current);
        expect.fail("consistencyBetween accepted a forged checkpoint");
      } catch (error) {
        expect((error as Error).message).to.match(/not of this log's history/);
      }
      const v = await verifyDocument(canonicalText(current), { ...options, since: forgedOld });
      expect(failed(v)).to.include.members(["since", "since-on-chain"]);
      // The honest proof does not link the forged old head either.
      const honest = consistencyProof(buildTree(leaves), old.size, current.size);
      expect(verifyCheckpointConsistency(forgedOld, current, honest).ok).to.equal(false);
    });
  });

  describe("npm run verify (scripts/verify.ts)", function () {
    it("verifies bundles, receipt bundles and checkpoint pairs; exits 1 for a tampered file, 2 without a node", async function () {
      const rpc = tg.gateway.ctx.rpcUrl;
      const write = (name: string, text: string) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        return file;
      };
      const caseRes = await get(caseUrl());
      const bundleFile = write("case-bundle.json", caseRes.body);
      // One byte of the checkpoint's signature changed: caught offline.
      const tampered = JSON.parse(caseRes.body) as AuditBundle;
      const sig = Buffer.from(tampered.checkpoint.signature!, "base64");
      sig[sig.length - 1] ^= 1;
      tampered.checkpoint.signature = sig.toString("base64");
      const tamperedFile = write("tampered.json", canonicalText(tampered));
      const oldFile = write("old-checkpoint.json", canonicalText(JSON.parse((await get("/v1/checkpoint", null)).body)));
      await worker.runOnce();
      const c = await submittedCase(tg, residentId(51));
      personal.push(c.residentId);
      await worker.runOnce();
      const newFile = write("new-checkpoint.json", (await get("/v1/checkpoint", null)).body);
      const receiptRow = (await tg.gateway.ctx.store.getReceipt(payoutIdOf(keys[0])))!;
      const receiptFile = write(
        "receipt-bundle.json",
        JSON.stringify((await bundleOf(tg.gateway.ctx, receiptRow)).bundle, null, 2),
      );

      const [valid, offline, bad, pair, receipt, unreachable] = await Promise.all([
        runVerify([bundleFile, "--rpc", rpc, "--deployment", deploymentFile]),
        runVerify([bundleFile]),
        runVerify([tamperedFile]),
        runVerify([newFile, "--since", oldFile, "--rpc", rpc]),
        runVerify([receiptFile, "--rpc", rpc, "--deployment", deploymentFile]),
        runVerify([bundleFile, "--rpc", "http://127.0.0.1:1"]),
      ]);

      expect(valid.code, valid.stdout + valid.stderr).to.equal(0);
      expect(valid.stdout).to.match(/^audit-bundle /);
      expect(valid.stdout).to.match(/ok +chain-facts/);
      expect(valid.stdout.trim().split("\n").pop()).to.match(/^VALID/);
      expect(offline.code, offline.stdout + offline.stderr).to.equal(0);
      expect(offline.stdout).to.match(/VALID offline; not checked without the chain: .*anchors-on-chain/);
      expect(bad.code, bad.stdout + bad.stderr).to.equal(1);
      expect(bad.stdout).to.match(/FAIL {2}checkpoint-signature /);
      expect(bad.stdout).to.match(/NOT VALID/);
      expect(pair.code, pair.stdout + pair.stderr).to.equal(0);
      expect(pair.stdout).to.match(/ok +since .*extends/);
      expect(receipt.code, receipt.stdout + receipt.stderr).to.equal(0);
      expect(receipt.stdout).to.match(/^receipt-bundle /);
      expect(receipt.stdout).to.match(/ok +proof-on-chain/);
      expect(unreachable.code, unreachable.stdout + unreachable.stderr).to.equal(2);
      expect(unreachable.stderr).to.match(/cannot use the chain/);
    });
  });
});
