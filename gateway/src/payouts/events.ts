/**
 * Payouts that an event triggers: a medical bill certified by a medical office (醫療救助: the chain pays
 * `ratio × (bill − deductible)` within the beneficiary's annual cap, at once) and a disaster declared by an approver
 * (災害救助: then paid by relief runs, see `runs.ts`).
 *
 * Who may declare a disaster: the chain's rule (`declareDisaster`: an Approver whose region contains the declared
 * region), not finance — a finance bureau pays the relief (`POST /v1/disasters/{id}/relief-runs`).
 *
 * Ids: a bill id and a disaster id are random bytes32 values, or, when the request carries an `Idempotency-Key`,
 * derived from it (`digestSecret("medical-bill-id" | "disaster-id", "<institution>:<key>")`), so a retry after an
 * unknown outcome (a timeout) names the same bill or disaster and the chain refuses to pay or declare it twice.
 */
import { randomBytes } from "node:crypto";
import { formatPeriod, periodAt } from "../../../lib/periods";
import { contains } from "../../../lib/regions";
import { ProgrammeKind } from "../../../lib/roles";
import { type InstitutionPrincipal, assertInRegion } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import { type Answer, type IdempotentRequest, jsonBody, once, scopedKey } from "../http/idempotency";
import { type Bytes32, LedgerError, type TxResult } from "../ledger";
import { payoutIdOf } from "./ids";
import type { DisasterFacts } from "./runs";

const ZERO_HASH = `0x${"0".repeat(64)}`;
/** How far back a retried bill's transaction is looked for. */
const BILL_LOOKBACK_BLOCKS = 50_000;

function randomId(): Bytes32 {
  return `0x${randomBytes(32).toString("hex")}`;
}

function idFor(ctx: GatewayContext, p: InstitutionPrincipal, purpose: string, idem?: IdempotentRequest): Bytes32 {
  return idem === undefined ? randomId() : ctx.keyring.digestSecret(purpose, scopedKey(p, idem));
}

// ---- Medical bills ------------------------------------------------------------------------------------------

export interface BillInput {
  caseId: Bytes32;
  billAmount: bigint;
  billDigest: Bytes32;
}

export interface BillPaid {
  billId: Bytes32;
  payoutId: string;
  amount: string;
  /** "YYYY-MM". */
  period: string;
  txHash: string;
  blockNumber: number;
}

/** Certifies a bill of a medical case in the office's region; the chain pays it at once. 201 with the payout. */
export async function certifyBill(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  input: BillInput,
  idem: IdempotentRequest | undefined,
): Promise<Answer> {
  return once(ctx, p, "medical-bill", idem, async () => {
    const record = await ctx.ledger.caseRecord(input.caseId);
    if (!record) throw new ApiError("NOT_FOUND", "no such case on the ledger");
    assertInRegion(p, record.region, "the case");
    const billId = idFor(ctx, p, "medical-bill-id", idem);

    // A retry of a request whose bill reached the chain: the chain knows the payout already.
    const known =
      idem === undefined ? undefined : (await ctx.ledger.casePayouts(input.caseId)).find((k) => k.eventId === billId);
    let paid: TxResult & { amount: bigint; period: number };
    if (known) {
      const state = await ctx.ledger.payoutStatus(known);
      const latest = await ctx.ledger.blockNumber();
      const events = await ctx.ledger.events(Math.max(0, latest - BILL_LOOKBACK_BLOCKS), latest);
      const event = events.find((e) => e.name === "MedicalBillCertified" && e.args.billId === billId);
      paid = {
        txHash: event?.txHash ?? ZERO_HASH,
        blockNumber: event?.blockNumber ?? 0,
        amount: state.amount,
        period: known.period,
      };
    } else {
      paid = await ctx.ledger.certifyMedicalBill(p.id, { billId, ...input });
    }

    const payoutId = payoutIdOf({ caseId: input.caseId, period: paid.period, eventId: billId });
    const body: BillPaid = {
      billId,
      payoutId,
      amount: String(paid.amount),
      period: formatPeriod(paid.period),
      txHash: paid.txHash,
      blockNumber: paid.blockNumber,
    };
    await ctx.store.transaction(async (tx) => {
      await tx.putPayouts([
        {
          payoutId,
          caseId: input.caseId,
          period: paid.period,
          eventId: billId,
          programmeId: record.programmeId,
          regionCode: Number(record.region),
          amount: paid.amount,
          runId: null,
          txHash: paid.txHash,
          blockNumber: paid.blockNumber,
        },
      ]);
      await tx.appendAudit({
        actor: p.id,
        action: "medical-bill.certified",
        target: payoutId,
        details: { billId, caseId: input.caseId, amount: String(paid.amount), txHash: paid.txHash },
      });
    });
    ctx.metrics.payouts.inc({ outcome: "paid" }, 1);
    return { status: 201, body: jsonBody(body) };
  });
}

// ---- Disasters ----------------------------------------------------------------------------------------------

export interface DisasterInput {
  programmeId: number;
  region: bigint;
  declaration: string;
}

export interface DisasterDeclared extends DisasterFacts, TxResult {
  declarationDigest: Bytes32;
}

/** A disaster as the gateway finds it, with its declaring transaction and whether the audit log records it. */
export interface FoundDisaster extends DisasterFacts, TxResult {
  recorded: boolean;
}

/** The disaster's facts: from the audit log of its declaration, else from the chain's `DisasterDeclared` event. */
export async function findDisaster(ctx: GatewayContext, disasterId: Bytes32): Promise<FoundDisaster | undefined> {
  const id = disasterId.toLowerCase();
  const [entry] = await ctx.store.listAudit({ action: "disaster.declared", target: id, limit: 1 });
  const d = entry?.details as
    | { programmeId?: number; region?: string; period?: number; txHash?: string; blockNumber?: number }
    | null
    | undefined;
  if (d && typeof d.programmeId === "number" && typeof d.region === "string" && typeof d.period === "number") {
    return {
      disasterId: id,
      programmeId: d.programmeId,
      region: BigInt(d.region),
      period: d.period,
      txHash: d.txHash ?? ZERO_HASH,
      blockNumber: d.blockNumber ?? 0,
      recorded: true,
    };
  }
  // Declared but not recorded (the gateway stopped in between): the chain has it.
  const events = await ctx.ledger.events(0, undefined, { timestamps: true });
  const event = events.find((e) => e.name === "DisasterDeclared" && e.args.disasterId === id);
  if (!event || event.name !== "DisasterDeclared") return undefined;
  return {
    disasterId: id,
    programmeId: event.args.programmeId,
    region: event.args.region,
    period: periodAt(event.timestamp ?? 0),
    txHash: event.txHash,
    blockNumber: event.blockNumber,
    recorded: false,
  };
}

/** Declares a disaster of a disaster programme in a region inside the approver's and the programme's. 201. */
export async function declareDisaster(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  input: DisasterInput,
  idem: IdempotentRequest | undefined,
): Promise<Answer> {
  return once(ctx, p, "disaster", idem, async () => {
    const rule = await ctx.ledger.programme(input.programmeId);
    if (rule.kind !== ProgrammeKind.Disaster) {
      throw new ApiError("LEDGER_REJECTED", "disasters are declared for disaster-relief programmes", {
        ledgerCode: "LedgerWrongProgrammeKind",
      });
    }
    if (!contains(rule.region, input.region)) {
      throw new ApiError("LEDGER_REJECTED", "the region is outside the programme's region", {
        ledgerCode: "LedgerRegionOutsideProgramme",
      });
    }
    assertInRegion(p, input.region, "the disaster's region");
    const disasterId = idFor(ctx, p, "disaster-id", idem);
    const declarationDigest = ctx.keyring.digestSecret("declaration", input.declaration);

    let tx: TxResult;
    let period: number;
    try {
      tx = await ctx.ledger.declareDisaster(p.id, {
        disasterId,
        programmeId: input.programmeId,
        region: input.region,
        declarationDigest,
      });
      const events = await ctx.ledger.events(tx.blockNumber, tx.blockNumber, { timestamps: true });
      const event = events.find((e) => e.name === "DisasterDeclared" && e.args.disasterId === disasterId);
      period = event?.timestamp !== undefined ? periodAt(event.timestamp) : await ctx.ledger.currentPeriod();
    } catch (error) {
      // A retry (same key) of a declaration that reached the chain.
      if (!(idem !== undefined && error instanceof LedgerError && error.code === "LedgerDisasterExists")) throw error;
      const known = await findDisaster(ctx, disasterId);
      if (!known || known.programmeId !== input.programmeId || known.region !== input.region) throw error;
      tx = { txHash: known.txHash, blockNumber: known.blockNumber };
      period = known.period;
      if (known.recorded) return { status: 201, body: jsonBody(disasterJson({ ...known, declarationDigest })) };
    }
    const declared: DisasterDeclared = {
      disasterId,
      programmeId: input.programmeId,
      region: input.region,
      period,
      declarationDigest,
      ...tx,
    };
    await ctx.store.appendAudit({
      actor: p.id,
      action: "disaster.declared",
      target: disasterId,
      reason: input.declaration,
      details: {
        programmeId: input.programmeId,
        region: String(input.region),
        period,
        txHash: tx.txHash,
        blockNumber: tx.blockNumber,
        declarationDigest,
      },
    });
    return { status: 201, body: jsonBody(disasterJson(declared)) };
  });
}

export function disasterJson(d: DisasterDeclared) {
  return {
    disasterId: d.disasterId,
    programmeId: d.programmeId,
    region: String(d.region),
    period: formatPeriod(d.period),
    declarationDigest: d.declarationDigest,
    txHash: d.txHash,
    blockNumber: d.blockNumber,
  };
}
