// The provider's page (救助券核銷): a school, hospital or care agency signs in with its API key, takes the
// beneficiary's one-time code (typed, or its QR code scanned with the camera), sees the voucher (kind, remaining value,
// expiry, whether it may be redeemed here), redeems an amount against an invoice, and follows its own redemptions
// until the finance bureau has paid them and the bank has settled. The page never sees who the beneficiary is.
import { ApiFailure, getJson, postJson } from "./api.js";
import { $, details, fill, h, table } from "./dom.js";
import { parseYuan, short, when, yuan } from "./format.js";
import { failureText, institutionKey, setUpSignIn, verdict } from "./institution.js";
import { setUpCameraScanner } from "./qr-scan.js";
import { CATEGORY_LABELS, REDEMPTION_STATUS_LABELS, VOUCHER_KIND_LABELS, codeOf } from "./vouchers.js";

const key = institutionKey;
/** The voucher looked up, with the code that presented it: what the redeem form acts on. */
let current = null;
/** The last redemption sent: a retry of the same one (same code, amount, invoice) reuses its Idempotency-Key. */
let lastAttempt = null;

/** Moves focus to a finished action's verdict, so a keyboard user reads it and Tabs on to what follows it. */
function focusOutcome(out) {
  const line = out.querySelector(".verdict");
  if (!line) return;
  line.tabIndex = -1;
  line.focus();
}

/** Why this provider may not redeem the voucher (the chain's error names), in words; the API's message otherwise. */
const REFUSALS = {
  VoucherWrongCategory: "本機構類別不在此券可用範圍 This voucher is not for providers of our category",
  VoucherOutsideRegion: "本機構不在此券的地區 Our institution is outside the voucher's region",
  VoucherIsExpired: "此券已過期 The voucher has expired",
  VoucherNotActive: "此券已用完或已失效 The voucher is used up or no longer active",
};

const refusalText = (refusal) => REFUSALS[refusal?.ledgerCode] ?? `${refusal?.code}: ${refusal?.message}`;

/** The API's refusals of a code or an amount, in words; anything else as the API's code and message. */
const ERRORS = {
  CODE_USED: "此出示碼已用過，請受助人重新出示 This code has been used: ask the beneficiary to present again",
  CODE_EXPIRED: "此出示碼已過期或已被新碼取代 This code has expired or was replaced: ask for a new one",
  NOT_FOUND: "沒有這個出示碼 No voucher was presented with this code",
  VALIDATION_FAILED: "出示碼是12位數字 The code is 12 digits",
};

function errorText(error) {
  const words = error instanceof ApiFailure && error.field !== "amount" ? ERRORS[error.code] : undefined;
  return words ? `${words} (${error.code})` : failureText(error);
}

function clearVoucher() {
  current = null;
  $("#redeem").hidden = true;
  fill($("#redeem-result"));
}

/** After a redemption: its outcome stays, the form goes (the code is used; the next one needs a new lookup). */
function redeemed() {
  current = null;
  fill($("#lookup-result")); // its remaining value is the one before this redemption
  $("#redeem-form").reset();
  $("#redeem-form").hidden = true;
  $("#voucher-code").value = "";
}

async function lookUp(code) {
  const out = $("#lookup-result");
  clearVoucher();
  if (!code) {
    fill(out, verdict("bad", "請輸入出示碼或掃描二維碼 Enter the voucher code or scan its QR code"));
    focusOutcome(out);
    return;
  }
  fill(out, h("p", {}, "查詢中 Looking up…"));
  try {
    const v = await postJson(key, "/voucher-presentations/lookup", { code });
    fill(
      out,
      v.redeemable
        ? verdict("ok", `✓ 可在本機構核銷 Can be redeemed here: 最多 up to ${yuan(v.maxAmount)}`)
        : verdict("bad", `✗ 不可在本機構核銷 Cannot be redeemed here: ${refusalText(v.refusal)}`),
      details([
        ["券種 Kind", VOUCHER_KIND_LABELS[v.kind] ?? v.kind],
        ["餘額 Remaining", h("strong", {}, yuan(v.remaining))],
        ["出示額度 Presented for", yuan(v.maxAmount)],
        ["有效期至 Valid until", when(v.expiresAt)],
        ["可用機構 For providers", v.categories.map((c) => CATEGORY_LABELS[c] ?? c).join(", ")],
        ["本機構類別 Our category", CATEGORY_LABELS[v.providerCategory] ?? v.providerCategory],
        ["項目 Programme", String(v.programmeId)],
        ["出示碼有效至 Code valid until", when(v.codeExpiresAt)],
        ["券號 Voucher", h("span", { className: "mono", title: v.voucherId }, short(v.voucherId))],
      ]),
    );
    if (v.redeemable) {
      current = { code, voucher: v };
      $("#redeem").hidden = false;
      $("#redeem-form").hidden = false;
    }
  } catch (e) {
    fill(out, verdict("bad", `✗ ${errorText(e)}`));
  }
  focusOutcome(out);
}

async function redeem(event) {
  event.preventDefault();
  const out = $("#redeem-result");
  if (!current) return;
  const form = event.target;
  const amount = parseYuan($("#redeem-amount").value.trim());
  const invoiceNumber = $("#redeem-invoice").value.trim();
  if (amount === null) {
    fill(out, verdict("bad", "金額須為正數，最多兩位小數 The amount must be positive yuan with at most 2 decimals"));
    $("#redeem-amount").focus();
    return;
  }
  if (BigInt(amount) > BigInt(current.voucher.maxAmount)) {
    fill(out, verdict("bad", `金額超過可核銷額度 The amount is more than ${yuan(current.voucher.maxAmount)}`));
    $("#redeem-amount").focus();
    return;
  }
  if (!invoiceNumber) {
    fill(out, verdict("bad", "請填寫發票號碼 Enter the invoice number"));
    $("#redeem-invoice").focus();
    return;
  }
  // Busy, not disabled: disabling the focused button would drop a keyboard user's focus to the top of the page.
  const button = form.querySelector("button[type=submit]");
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  const body = { code: current.code, amount, invoiceNumber };
  const same = lastAttempt && JSON.stringify(lastAttempt.body) === JSON.stringify(body);
  lastAttempt = same ? lastAttempt : { body, idempotencyKey: `web-${crypto.randomUUID()}` };
  fill(out, h("p", {}, "提交到鏈上 Sending to the chain…"));
  try {
    const r = await postJson(key, "/voucher-redemptions", body, { "Idempotency-Key": lastAttempt.idempotencyKey });
    lastAttempt = null;
    redeemed();
    fill(
      out,
      verdict("ok", `✓ 已核銷 Redeemed: ${yuan(r.amount)} · 餘額 remaining ${yuan(r.remaining)}`),
      details([
        ["券號 Voucher", h("span", { className: "mono", title: r.voucherId }, short(r.voucherId))],
        ["第幾次核銷 Redemption", `第 ${r.index + 1} 次 No. ${r.index + 1}`],
        ["發票號碼 Invoice", invoiceNumber],
        r.txHash && ["交易 Transaction", h("span", { className: "mono" }, r.txHash)],
      ]),
      h(
        "p",
        { className: "note" },
        "出示碼已用過，下一位請重新出示。The code is used; the next redemption needs a new one.",
      ),
    );
    await showRedemptions();
  } catch (e) {
    fill(out, verdict("bad", `✗ ${errorText(e)}`));
  } finally {
    button.removeAttribute("aria-disabled");
  }
  focusOutcome(out);
}

async function showRedemptions() {
  const out = $("#redemptions-result");
  const status = $("#redemptions-status").value;
  try {
    const query = status ? `?status=${encodeURIComponent(status)}` : "";
    const { redemptions } = await getJson(key, `/voucher-redemptions${query}`);
    const total = redemptions.reduce((sum, r) => sum + BigInt(r.amount), 0n);
    fill(
      out,
      redemptions.length === 0
        ? h("p", { className: "note" }, "沒有核銷記錄 No redemptions")
        : h(
            "div",
            { className: "scroll" },
            table(
              `核銷 Redemptions: ${redemptions.length} 筆, ${yuan(total)}`,
              ["券號 Voucher", "次 #", "金額 Amount", "核銷時間 Redeemed", "狀態 Status"],
              redemptions.map((r) => [
                h("span", { className: "mono", title: r.voucherId }, short(r.voucherId)),
                r.index === null ? "—" : String(r.index + 1),
                yuan(r.amount),
                when(r.createdAt),
                h("span", { className: `badge ${r.status}` }, REDEMPTION_STATUS_LABELS[r.status] ?? r.status),
              ]),
            ),
          ),
    );
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  }
}

// ---- the camera ---------------------------------------------------------------------------------------------

const NO_CAMERA = "沒有可用的攝像頭：請輸入出示碼 No camera available: type the voucher code instead";

function setUpScanner() {
  setUpCameraScanner({
    noCamera: NO_CAMERA,
    onText: async (text) => {
      const code = codeOf(text);
      $("#voucher-code").value = code;
      await lookUp(code);
    },
  });
}

// ---- wiring -------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  setUpSignIn(["provider"], async () => {
    clearVoucher();
    fill($("#lookup-result"));
    await showRedemptions();
  });
  $("#lookup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp(codeOf($("#voucher-code").value));
  });
  // A new code typed: the voucher shown before is no longer the one the form would redeem.
  $("#voucher-code").addEventListener("input", () => {
    if (current) clearVoucher();
  });
  $("#redeem-form").addEventListener("submit", redeem);
  $("#redemptions-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showRedemptions();
  });
  setUpScanner();
});
