// The finance page's voucher section (救助券): a voucher programme's totals (issued = redeemed + expired +
// outstanding; paid to providers), its redemptions by payment status, and paying the providers for what they redeemed.
// The payment agent then settles (POST /v1/voucher-redemptions/settlements), as the bank does for cash payouts; the
// "refresh" button follows it.
import { getJson, postJson } from "./api.js";
import { $, details, fill, h, table } from "./dom.js";
import { yuan } from "./format.js";
import { failureText, institutionKey, verdict } from "./institution.js";
import { programmeLabel } from "./programmes.js";
import { REDEMPTION_STATUS_LABELS } from "./vouchers.js";

const key = institutionKey;

function focusOutcome(out) {
  const line = out.querySelector(".verdict");
  if (!line) return;
  line.tabIndex = -1;
  line.focus();
}

const selected = () => Number($("#voucher-programme").value);

/** The programme's redemptions, counted and summed by status. */
async function redemptionsOf(programmeId) {
  const { redemptions } = await getJson(key, `/voucher-redemptions?programmeId=${programmeId}`);
  const mine = redemptions.filter((r) => r.programmeId === programmeId);
  const by = {};
  for (const status of Object.keys(REDEMPTION_STATUS_LABELS)) {
    const of = mine.filter((r) => r.status === status);
    by[status] = { count: of.length, amount: of.reduce((sum, r) => sum + BigInt(r.amount), 0n) };
  }
  return { total: mine.length, by };
}

async function showTotals() {
  const out = $("#voucher-totals");
  const programmeId = selected();
  try {
    const [totals, redemptions] = await Promise.all([
      getJson(key, `/programmes/${programmeId}/voucher-totals`),
      redemptionsOf(programmeId),
    ]);
    const refresh = h("button", { type: "button", onclick: showTotals }, "刷新入賬狀態 Refresh settlement status");
    const { redeemed, paid, settled } = redemptions.by;
    fill(
      out,
      h("h3", {}, `項目 Programme ${programmeId}`),
      details([
        ["已發券 Issued", yuan(totals.issued)],
        ["已核銷 Redeemed", yuan(totals.redeemed)],
        ["已過期退回 Expired (back in the pool)", yuan(totals.expired)],
        ["未使用 Outstanding", yuan(totals.outstanding)],
        ["已付機構 Paid to providers", yuan(totals.paid)],
        ["待支付機構 Owed to providers", yuan(totals.unpaid)],
      ]),
      h(
        "div",
        { className: "scroll settlement" },
        table(
          "核銷的支付與入賬 Redemptions: payment and settlement",
          ["狀態 Status", "筆數 Count", "金額 Amount"],
          Object.entries(redemptions.by).map(([status, x]) => [
            REDEMPTION_STATUS_LABELS[status],
            String(x.count),
            yuan(x.amount),
          ]),
        ),
      ),
      redemptions.total > 0 && settled.count === redemptions.total
        ? verdict("ok", "✓ 全部入賬 All settled")
        : h(
            "p",
            { className: "note" },
            `待支付 Awaiting payment: ${redeemed.count} · 待銀行入賬 Awaiting the bank: ${paid.count}`,
          ),
      h("div", { className: "row" }, refresh),
    );
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  }
}

async function pay(button) {
  if (button.getAttribute("aria-disabled") === "true") return;
  const out = $("#voucher-result");
  const programmeId = selected();
  button.setAttribute("aria-disabled", "true");
  fill(out, h("p", {}, "提交到鏈上 Sending to the chain…"));
  try {
    // One key per press: a retry of the request the network lost returns the same payment, never a second one.
    const r = await postJson(
      key,
      "/voucher-redemptions/payments",
      { programmeId },
      { "Idempotency-Key": `web-${crypto.randomUUID()}` },
    );
    // `already`: paid on chain before, the gateway's rows only caught up now (counted, not paid again).
    const count = r.paid + r.already;
    fill(
      out,
      count === 0
        ? verdict("wait", "沒有待支付的核銷 Nothing redeemed awaits payment")
        : verdict("ok", `✓ 已支付機構 Paid to providers: ${count} 筆, ${yuan(r.total)}`),
      r.txHash && details([["交易 Transaction", h("span", { className: "mono" }, r.txHash)]]),
    );
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  } finally {
    button.removeAttribute("aria-disabled");
  }
  await showTotals();
  focusOutcome(out);
}

/** Shows the section when the bureau has voucher programmes of its own region; `programmes` are those. */
export function setUpVouchers(programmes) {
  const vouchers = programmes.filter((p) => p.kind === "voucher");
  $("#vouchers").hidden = vouchers.length === 0;
  fill(
    $("#voucher-programme"),
    vouchers.map((p) => h("option", { value: p.programmeId }, programmeLabel(p))),
  );
  fill($("#voucher-result"));
  fill($("#voucher-totals"));
  if (vouchers.length > 0) return showTotals();
  return undefined;
}

export function wireVouchers() {
  $("#voucher-form").addEventListener("submit", (event) => {
    event.preventDefault();
    fill($("#voucher-result"));
    showTotals();
  });
  $("#voucher-pay").addEventListener("click", (event) => pay(event.currentTarget));
}
