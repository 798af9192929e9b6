/**
 * The chaincode on an {@link InMemoryPeer} with the institutions, regions and programmes of the EVM suites
 * (test/helpers/fixture.ts), so the same scenario reads the same on both ledgers.
 */
import { expect } from "chai";
import { roleAttribute } from "../../lib/fabric-identity";
import { periodAt, periodStart } from "../../lib/periods";
import { Role } from "../../lib/roles";
import { DAY, INSTITUTIONS, POOL_FUNDING, PROGRAMMES, REGION, digest, type Actors } from "../helpers/fixture";
import { EVENT_CONTRACT, EVENT_FIELDS, type FieldKind, type LedgerEventName } from "../../gateway/src/ledger/events";
import { InMemoryPeer, PeerTransactionError, type PeerIdentity, type SubmitResult } from "./peer";

export { DAY, POOL_FUNDING, PROGRAMMES, REGION, digest };

/** 10 November 2026, 12:00 CST. */
export const START = periodStart(24_322) + 9 * DAY + 4 * 3600;

export type Name = Exclude<keyof Actors, "beneficiary">;
export type Ids = Record<Name | "admin", PeerIdentity>;

/** JSON with bigints as decimal strings, as the convention passes them. */
export const json = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

export interface Emitted {
  name: string;
  args: Record<string, unknown>;
}

const FIELD_SHAPES: Record<FieldKind, (v: unknown) => boolean> = {
  bytes32: (v) => typeof v === "string" && /^0x[0-9a-f]{64}$/.test(v),
  account: (v) => typeof v === "string" && /^0x[0-9a-f]{40}$/.test(v),
  number: (v) => Number.isSafeInteger(v),
  bigint: (v) => typeof v === "string" && /^(0|[1-9][0-9]*)$/.test(v),
  bool: (v) => typeof v === "boolean",
  string: (v) => typeof v === "string",
  role: (v) => Number.isInteger(v),
  programmeKind: (v) => Number.isInteger(v),
  caseStatus: (v) => Number.isInteger(v),
  skipReason: (v) => Number.isInteger(v),
  receiptSource: (v) => Number.isInteger(v),
  disputeOutcome: (v) => Number.isInteger(v),
  voucherKind: (v) => Number.isInteger(v),
  providerCategory: (v) => Number.isInteger(v),
  voucherFundsMove: (v) => Number.isInteger(v),
};

/** Every event is one of gateway/src/ledger/events.ts, with exactly its fields, each in its JSON form. */
export function expectLedgerEvent(e: Emitted): void {
  const name = e.name as LedgerEventName;
  expect(EVENT_CONTRACT, `unknown event ${e.name}`).to.have.property(name);
  const fields = (EVENT_FIELDS[EVENT_CONTRACT[name]] as Record<string, Record<string, FieldKind>>)[name];
  expect(Object.keys(e.args).sort(), e.name).to.deep.equal(Object.keys(fields).sort());
  for (const [field, kind] of Object.entries(fields)) {
    expect(
      FIELD_SHAPES[kind](e.args[field]),
      `${e.name}.${field} = ${JSON.stringify(e.args[field])} is not ${kind}`,
    ).to.equal(true);
  }
}

export class Ledger {
  constructor(
    readonly peer: InMemoryPeer,
    readonly ids: Ids,
  ) {}

  /** Submits `fn` as `who` and returns the parsed reply and the transaction's `relief` events. */
  async submit<T = unknown>(
    who: Name | "admin" | PeerIdentity,
    fn: string,
    args: unknown = {},
  ): Promise<T & { events: Emitted[]; tx: SubmitResult }> {
    const id = typeof who === "string" ? this.ids[who] : who;
    const tx = await this.peer.submit(id, fn, [json(args)]);
    const reply = JSON.parse(tx.payload.toString("utf8")) as unknown;
    const events = tx.events.flatMap((e) => JSON.parse(e.payload.toString("utf8")) as Emitted[]);
    expect(tx.events.every((e) => e.eventName === "relief")).to.equal(true);
    events.forEach(expectLedgerEvent);
    const base = typeof reply === "object" && reply !== null ? reply : {};
    return { ...base, events, tx } as T & { events: Emitted[]; tx: SubmitResult };
  }

  /** Evaluates a query (as the auditor unless told). */
  async query<T = unknown>(fn: string, args: unknown = {}, who: Name | "admin" = "auditor"): Promise<T> {
    return JSON.parse((await this.peer.evaluate(this.ids[who], fn, [json(args)])).toString("utf8")) as T;
  }

  /** The refusal of a submission: its custom error name and arguments. */
  async refusal(
    who: Name | "admin" | PeerIdentity,
    fn: string,
    args: unknown = {},
  ): Promise<{ name: string; args: Record<string, unknown> }> {
    const before = this.peer.blockHeight();
    try {
      await this.submit(who, fn, args);
    } catch (err) {
      expect(err).to.be.instanceOf(PeerTransactionError);
      expect(this.peer.blockHeight(), "a refused transaction never reaches a block").to.equal(before);
      const m = /^RL:([A-Za-z]+)(?: (.*))?$/s.exec((err as Error).message);
      expect(m, (err as Error).message).to.not.equal(null);
      return {
        name: (m as RegExpExecArray)[1],
        args: (m as RegExpExecArray)[2] ? JSON.parse((m as RegExpExecArray)[2]) : {},
      };
    }
    expect.fail(`${fn} was accepted`);
  }

  async expectRefused(
    who: Name | "admin" | PeerIdentity,
    fn: string,
    args: unknown,
    name: string,
    withArgs?: Record<string, unknown>,
  ) {
    const r = await this.refusal(who, fn, args);
    expect(r.name).to.equal(name);
    if (withArgs) expect(r.args).to.deep.equal(JSON.parse(json(withArgs)));
  }

  period(): number {
    return periodAt(this.peer.now());
  }

  /** Moves the clock to the 10th of the month `n` periods later. */
  nextPeriod(n = 1): void {
    this.peer.setTime(periodStart(this.period() + n) + 9 * DAY);
  }

  advance(seconds: number): void {
    this.peer.setTime(this.peer.now() + seconds);
  }
}

/** A peer with every institution of the EVM fixture registered; no programmes. */
export async function registered(): Promise<Ledger> {
  const peer = await InMemoryPeer.start({ now: START });
  const ids = { admin: await peer.identity("admin", { role: "admin", region: "0" }) } as Ids;
  for (const [name, role, region] of INSTITUTIONS) {
    ids[name as Name] = await peer.identity(name, { role: roleAttribute(role), region: region.toString() });
  }
  const ledger = new Ledger(peer, ids);
  for (const [name, role, region] of INSTITUTIONS) {
    await ledger.submit("admin", "registerInstitution", {
      account: ids[name as Name].account,
      role,
      region,
      keyDigest: digest(`sm2-key:${name}`),
    });
  }
  ids.stranger = await peer.identity("stranger", {
    role: roleAttribute(Role.Caseworker),
    region: REGION.township.toString(),
  });
  return ledger;
}

export type Programmes = Record<keyof typeof PROGRAMMES, number>;

/** As the EVM fixture's `deployFunded`: programmes created and every pool funded. */
export async function funded(): Promise<{ ledger: Ledger; programmes: Programmes }> {
  const ledger = await registered();
  const programmes = {} as Programmes;
  for (const [name, p] of Object.entries(PROGRAMMES)) {
    programmes[name as keyof Programmes] = (
      await ledger.submit<{ programmeId: number }>("approver", "createProgramme", p)
    ).programmeId;
  }
  const total = POOL_FUNDING * BigInt(Object.keys(PROGRAMMES).length);
  const ref = digest("budget-2026");
  await ledger.submit("centralFinance", "appropriate", { amount: total * 2n, referenceDigest: ref });
  await ledger.submit("centralFinance", "allocate", {
    fromRegion: REGION.central,
    toRegion: REGION.province,
    amount: total,
    referenceDigest: ref,
  });
  await ledger.submit("provinceFinance", "allocate", {
    fromRegion: REGION.province,
    toRegion: REGION.city,
    amount: total,
    referenceDigest: ref,
  });
  await ledger.submit("cityFinance", "allocate", {
    fromRegion: REGION.city,
    toRegion: REGION.county,
    amount: total,
    referenceDigest: ref,
  });
  for (const id of Object.values(programmes)) {
    await ledger.submit("countyFinance", "fundProgramme", {
      programmeId: id,
      amount: POOL_FUNDING,
      referenceDigest: ref,
    });
  }
  return { ledger, programmes };
}

let counter = 0;
export function newCase(label = "case") {
  counter += 1;
  return { caseId: digest(`fabric:${label}:${counter}`), pseudonym: digest(`fabric:pseudonym:${label}:${counter}`) };
}

export const assessment = (over: Partial<{ householdSize: number; incomePerHead: bigint; amount: bigint }> = {}) => ({
  householdSize: 3,
  incomePerHead: 23_700n,
  amount: 0n,
  ...over,
});

/** Submits, reviews, waits out the notice and approves a case. */
export async function approvedCase(
  ledger: Ledger,
  programmes: Programmes,
  programme: keyof typeof PROGRAMMES,
  opts: {
    a?: Partial<ReturnType<typeof assessment>>;
    region?: bigint;
    pseudonym?: string;
    approver?: Name;
    caseworker?: Name;
  } = {},
) {
  const c = newCase(programme);
  const pseudonym = opts.pseudonym ?? c.pseudonym;
  const programmeId = programmes[programme];
  const caseworker = opts.caseworker ?? "caseworker";
  await ledger.submit(caseworker, "submitCase", {
    caseId: c.caseId,
    programmeId,
    region: opts.region ?? REGION.township,
    pseudonym,
    recordDigest: digest(`record:${c.caseId}`),
  });
  await ledger.submit(caseworker, "reviewCase", { caseId: c.caseId, passed: true, reasonDigest: digest("reviewed") });
  const p = PROGRAMMES[programme];
  if (p.noticePeriod > 0) ledger.advance(p.noticePeriod);
  await ledger.submit(opts.approver ?? "approver", "approveCase", {
    caseId: c.caseId,
    assessment: assessment(opts.a),
    ruleVersion: p.ruleVersion,
  });
  return { caseId: c.caseId, pseudonym, programmeId };
}
