/**
 * Voucher programmes' terms (救助券規則): which kind of voucher a programme issues, which provider categories may
 * redeem it, and how long it is valid. Set by an approver whose region contains the programme's, on creation
 * (`POST /v1/programmes` with `voucher`) or later (`PUT /v1/programmes/{id}/voucher-terms`); they apply to vouchers
 * issued afterwards.
 */
import { z } from "zod";
import { ProgrammeKind } from "../../../lib/roles";
import {
  MAX_VOUCHER_VALIDITY,
  MIN_VOUCHER_VALIDITY,
  VoucherKind,
  categoriesOf,
  categoryMask,
} from "../../../lib/vouchers";
import { type InstitutionPrincipal, assertInRegion } from "../auth";
import type { GatewayContext } from "../context";
import { ApiError } from "../http/errors";
import type { TxResult, VoucherTerms } from "../ledger";
import { vouchersOf } from "./ledger";
import { CATEGORY_INPUTS, CATEGORY_NAMES, KIND_INPUTS, VOUCHER_KIND_NAMES, categoryOf, kindOf } from "./names";

const DAY = 86_400;

export const voucherTermsInput = z
  .object({
    kind: z.enum(KIND_INPUTS),
    categories: z
      .array(z.enum(CATEGORY_INPUTS))
      .min(1, "name at least one provider category")
      .max(CATEGORY_INPUTS.length)
      .refine((c) => new Set(c).size === c.length, "lists a category twice"),
    validityDays: z
      .number()
      .int("must be a whole number of days")
      .min(MIN_VOUCHER_VALIDITY / DAY)
      .max(MAX_VOUCHER_VALIDITY / DAY),
  })
  .strict()
  .openapi("VoucherTerms");

export type VoucherTermsInput = z.infer<typeof voucherTermsInput>;

export const voucherTermsView = z
  .object({ kind: z.string(), categories: z.array(z.string()), validityDays: z.number() })
  .openapi("VoucherTermsView");

export function toTerms(input: VoucherTermsInput): VoucherTerms {
  return {
    kind: kindOf(input.kind),
    categories: categoryMask(input.categories.map(categoryOf)),
    validity: input.validityDays * DAY,
  };
}

/** The terms as the API shows them; null when unset. */
export function termsJson(terms: VoucherTerms) {
  if (terms.kind === VoucherKind.None) return null;
  return {
    kind: VOUCHER_KIND_NAMES[terms.kind],
    categories: categoriesOf(terms.categories).map((c) => CATEGORY_NAMES[c]),
    validityDays: Math.floor(terms.validity / DAY),
  };
}

/** The terms of a programme of kind Voucher, or undefined for other kinds (no chain call). */
export async function termsOf(ctx: GatewayContext, programmeId: number, kind: ProgrammeKind) {
  if (kind !== ProgrammeKind.Voucher) return undefined;
  return termsJson(await vouchersOf(ctx).voucherTerms(programmeId));
}

/** Sets a voucher programme's terms (an approver whose region contains the programme's). */
export async function setTerms(
  ctx: GatewayContext,
  p: InstitutionPrincipal,
  programmeId: number,
  input: VoucherTermsInput,
): Promise<TxResult> {
  const rule = await ctx.ledger.programme(programmeId);
  if (rule.kind !== ProgrammeKind.Voucher) {
    throw new ApiError("LEDGER_REJECTED", "terms are set for voucher programmes only", {
      ledgerCode: "VoucherNotVoucherProgramme",
      field: "programmeId",
    });
  }
  assertInRegion(p, rule.region, "the programme's region");
  const terms = toTerms(input);
  const tx = await vouchersOf(ctx).setVoucherTerms(p.id, programmeId, terms);
  await ctx.store.appendAudit({
    actor: p.id,
    action: "voucher-terms.set",
    target: String(programmeId),
    details: { ...termsJson(terms), txHash: tx.txHash },
  });
  return tx;
}
