import { expect } from "chai";
import { type Application, application, csvOf } from "../gateway/cases/helpers";
import { caughtUp, expectAnchoredExactlyOnce, expectNothingHalfWritten, sqliteTables } from "./checks";
import { FaultCluster, type GatewayProcess, killsPerScenario, randomDelays, until } from "./cluster";

/** Households per CSV file (one store transaction each: a file is all or nothing). */
const HOUSEHOLDS = 8;
/** Clients uploading at once. */
const LANES = 2;

interface Upload {
  apps: Application[];
  /** The 202's case ids; undefined if no answer came (the gateway was killed first). */
  caseIds?: string[];
}

describe("faults: the gateway SIGKILLed during bulk CSV imports", function () {
  this.timeout(600_000);
  let cluster: FaultCluster;

  before(async function () {
    cluster = await FaultCluster.start();
  });

  after(async function () {
    await cluster?.dispose();
  });

  it("every acknowledged import is stored, on chain and anchored exactly once; an unanswered one is all or nothing", async function () {
    const kills = killsPerScenario(6);
    const seed = Number(process.env.RELIEF_FAULTS_SEED ?? Date.now() % 2 ** 31);
    const delay = randomDelays(seed);
    const uploads: Upload[] = [];
    let refused = 0;

    const upload = async (gw: GatewayProcess, stopped: () => boolean) => {
      while (!stopped()) {
        const u: Upload = { apps: Array.from({ length: HOUSEHOLDS }, () => application().body) };
        uploads.push(u);
        let res: Response;
        try {
          res = await fetch(`${gw.url}/v1/cases/import`, {
            method: "POST",
            headers: { authorization: cluster.auth("township-caseworker"), "content-type": "text/csv" },
            body: csvOf(u.apps),
          });
        } catch {
          return; // killed: no answer
        }
        const body = (await res.json().catch(() => undefined)) as { caseIds?: string[] } | undefined;
        if (res.status === 202 && body?.caseIds) u.caseIds = body.caseIds;
        else refused += 1;
      }
    };

    let gw = await cluster.spawn();
    for (let k = 0; k < kills; k++) {
      let stop = false;
      const lanes = Array.from({ length: LANES }, () => upload(gw, () => stop));
      await new Promise((r) => setTimeout(r, delay(50, 1500)));
      await gw.kill();
      stop = true;
      await Promise.all(lanes);
      gw = await cluster.spawn();
    }

    // Recovery: the last gateway puts every stored case on chain and anchors every record.
    const db = sqliteTables(cluster.config.sqlitePath);
    try {
      await until(() => caughtUp(db), 120_000, "every case on chain and every record anchored");
      await gw.stop();

      const gateway = await cluster.open();
      try {
        const { ledger, keyring } = gateway.ctx;
        const cases = await db.all("SELECT case_id, status, pseudonym, application_record_id FROM cases");
        const byPseudonym = new Map(cases.map((c) => [String(c.pseudonym), c]));
        const acknowledged = uploads.filter((u) => u.caseIds);
        const unanswered = uploads.filter((u) => !u.caseIds);
        expect(refused, "imports refused").to.equal(0);

        // Acknowledged: every case present, on chain with its manifest's digest.
        const manifests = new Map(
          (await db.all("SELECT id, digest FROM records")).map((r) => [String(r.id), String(r.digest)]),
        );
        const caseRow = new Map(cases.map((c) => [String(c.case_id), c]));
        for (const u of acknowledged) {
          for (const caseId of u.caseIds!) {
            const row = caseRow.get(caseId);
            expect(row, `acknowledged case ${caseId}`).to.not.equal(undefined);
            expect(row!.status).to.equal("submitted");
            const onChain = await ledger.caseRecord(caseId);
            expect(onChain?.recordDigest).to.equal(manifests.get(String(row!.application_record_id)));
          }
        }
        // Unanswered: all of the file's households, or none of them.
        let committedUnanswered = 0;
        for (const u of unanswered) {
          const present = u.apps.filter((a) => byPseudonym.has(keyring.pseudonym(a.applicant.residentId))).length;
          expect([0, HOUSEHOLDS], "households stored of an unanswered import").to.include(present);
          if (present > 0) committedUnanswered += 1;
        }
        expect(cases.length).to.equal((acknowledged.length + committedUnanswered) * HOUSEHOLDS);
        for (const c of cases) {
          expect((await ledger.caseRecord(String(c.case_id)))?.pseudonym, "case on chain").to.equal(c.pseudonym);
        }

        await expectNothingHalfWritten(db);
        const anchored = await expectAnchoredExactlyOnce(db, ledger);
        console.log(
          `      [faults] import: seed ${seed}, ${kills} kills, ${uploads.length} imports ` +
            `(${acknowledged.length} acknowledged, ${unanswered.length} unanswered of which ${committedUnanswered} ` +
            `committed), ${cases.length} cases, ${anchored.records} records in ${anchored.anchors} anchors`,
        );
      } finally {
        await gateway.close();
      }
    } finally {
      await db.close();
    }
  });
});
