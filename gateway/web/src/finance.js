// The finance bureau's page (財政資金): balances per level and programme pool, allocations down the hierarchy,
// pool funding, and payout runs with a confirmation step, their progress, outcome and settlement status.
import { getJson, poll, postJson } from "./api.js";
import { PALETTE, flowChart } from "./charts.js";
import { $, details, fill, h, table } from "./dom.js";
import { levelName, parseYuan, yuan } from "./format.js";
import { failureText, institutionKey, setUpSignIn, verdict } from "./institution.js";
import { KIND_LABELS, fillProgrammes, programmeLabel } from "./programmes.js";
import { setUpVouchers, wireVouchers } from "./finance-vouchers.js";

const key = institutionKey;
let me = null;
let programmes = [];
let balances = null;

async function showBalances() {
  const out = $("#balances-result");
  try {
    balances = await getJson(key, "/budget/balances");
    const b = balances;
    fill(
      $("#below-regions"),
      b.below.map((x) => h("option", { value: x.region }, `${levelName(x.region)} ${x.region}`)),
    );
    const stages = [
      { label: `${levelName(b.region)} ${b.region}`, amount: b.balance, color: PALETTE[0] },
      ...b.below.map((x) => ({
        label: `${levelName(x.region)} ${x.region}`,
        amount: x.balance,
        color: PALETTE[3],
      })),
      ...b.pools.map((p) => ({
        label: `項目 Programme ${p.programmeId}`,
        amount: p.balance,
        color: PALETTE[5],
      })),
    ];
    fill(
      out,
      details([
        ["本級 This level", `${levelName(b.region)} ${b.region}`],
        ["本級餘額 Balance", h("strong", {}, yuan(b.balance))],
        b.totals && ["累計撥款 Appropriated", yuan(b.totals.appropriated)],
        b.totals && ["各級結存 Held", yuan(b.totals.held)],
        b.totals && ["累計發放 Paid out", yuan(b.totals.paidOut)],
      ]),
      flowChart(stages, "各級及資金池餘額 Balances per level and pool", { links: false }),
      h(
        "div",
        { className: "scroll" },
        b.below.length > 0 &&
          table(
            "下級餘額 Regions directly below",
            ["層級 Level", "地區 Region", "餘額 Balance"],
            b.below.map((x) => [levelName(x.region), x.region, yuan(x.balance)]),
          ),
        table(
          "項目資金池 Programme pools",
          ["項目 Programme", "類型 Kind", "地區 Region", "餘額 Balance", "已發放 Paid out"],
          b.pools.map((p) => [
            String(p.programmeId),
            KIND_LABELS[p.kind] ?? p.kind,
            p.region,
            yuan(p.balance),
            yuan(p.paidOut),
          ]),
        ),
      ),
    );
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  }
}

/** Reads a money form: { amount (fen), reference } or an error text. */
function moneyForm(form) {
  const data = new FormData(form);
  const amount = parseYuan(String(data.get("amount") ?? ""));
  const reference = String(data.get("reference") ?? "").trim();
  if (amount === null)
    return { error: "金額須為正數，最多兩位小數 The amount must be positive yuan with at most 2 decimals" };
  if (!reference) return { error: "請填寫文號 Enter the budget document's reference" };
  return { amount, reference };
}

async function submitMoney(form, out, path, extra = {}) {
  const input = moneyForm(form);
  if (input.error) {
    fill(out, verdict("bad", input.error));
    return;
  }
  // Busy, not disabled: disabling the focused button would drop a keyboard user's focus to the top of the page.
  const button = form.querySelector("button[type=submit]");
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  fill(out, h("p", {}, "提交到鏈上 Sending to the chain…"));
  try {
    const tx = await postJson(key, path, { ...extra, amount: input.amount, reference: input.reference });
    form.reset();
    fill(
      out,
      verdict("ok", `✓ 已完成 Done: ${yuan(input.amount)}`),
      details([
        ["交易 Transaction", h("span", { className: "mono" }, tx.txHash)],
        ["區塊 Block", String(tx.blockNumber)],
      ]),
    );
    await showBalances();
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

// ---- payout runs --------------------------------------------------------------------------------------------

let pending = null;

function reviewRun(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const programmeId = Number(data.get("programmeId"));
  const period = String(data.get("period") ?? "").trim();
  if (period && !/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) {
    fill($("#run-result"), verdict("bad", "月份格式為 YYYY-MM The period must be YYYY-MM"));
    return;
  }
  const programme = programmes.find((p) => p.programmeId === programmeId);
  const pool = balances?.pools.find((p) => p.programmeId === programmeId);
  // One idempotency key per confirmation: a double click or a retry returns the same run, never a second one.
  pending = { programmeId, period, idempotencyKey: `web-${crypto.randomUUID()}` };
  fill(
    $("#run-dialog-body"),
    details([
      ["項目 Programme", programme ? programmeLabel(programme) : String(programmeId)],
      ["月份 Period", period || "本月 this month (chain time)"],
      ["資金池餘額 Pool balance", pool ? yuan(pool.balance) : "—"],
    ]),
    h(
      "p",
      {},
      "合約只向條件成立的案件發放，每期最多一次。The contract pays only entitlements whose conditions hold, at most once per period.",
    ),
  );
  $("#run-dialog").showModal();
  $("#run-confirm").focus();
}

async function startRun() {
  const run = pending;
  pending = null;
  $("#run-dialog").close();
  if (!run) return;
  const out = $("#run-result");
  const bar = h("progress", { max: 1, value: 0, "aria-label": "發放進度 Run progress" });
  const line = h("p", { role: "status" }, "已提交 Submitted…");
  fill(out, bar, line);
  try {
    const body = { programmeId: run.programmeId };
    if (run.period) body.period = run.period;
    const { runId } = await postJson(key, "/payout-runs", body, { "Idempotency-Key": run.idempotencyKey });
    const final = await poll(
      () => getJson(key, `/payout-runs/${runId}`),
      (r) => r.status === "completed" || r.status === "failed",
      (r) => {
        bar.max = Math.max(1, r.listed);
        bar.value = r.paid + r.skipped;
        fill(line, `${r.status} · 已列出 listed ${r.listed} · 已發放 paid ${r.paid} · 跳過 skipped ${r.skipped}`);
      },
    );
    await showOutcome(final);
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  }
  focusOutcome(out);
}

/** Moves focus to a finished action's verdict, so a keyboard user reads it and Tabs on to what follows it. */
function focusOutcome(out) {
  const line = out.querySelector(".verdict");
  if (!line) return;
  line.tabIndex = -1;
  line.focus();
}

async function settlementOf(runId) {
  const { payouts } = await getJson(key, `/payouts?runId=${encodeURIComponent(runId)}&limit=1000`);
  const count = (status) => payouts.filter((p) => p.status === status).length;
  return { total: payouts.length, paid: count("paid"), settled: count("settled"), failed: count("failed") };
}

async function showOutcome(run) {
  const out = $("#run-result");
  const settlement = h("div", { className: "settlement", "aria-live": "polite" });
  const refresh = async () => {
    try {
      const s = await settlementOf(run.runId);
      fill(
        settlement,
        h("h3", {}, "入賬狀態 Settlement status"),
        details([
          ["待銀行入賬 Awaiting the bank", String(s.paid)],
          ["已入賬 Settled", String(s.settled)],
          ["入賬失敗 Failed (money back in the pool)", String(s.failed)],
        ]),
        s.total > 0 && s.settled === s.total ? verdict("ok", "✓ 全部入賬 All settled") : null,
      );
    } catch (e) {
      fill(settlement, verdict("bad", failureText(e)));
    }
  };
  const skipped = Object.entries(run.result.skipped ?? {});
  fill(
    out,
    run.status === "completed"
      ? verdict("ok", `✓ 發放完成 Run completed: ${run.paid} 筆 paid, ${yuan(run.total)}`)
      : verdict("bad", `✗ 發放失敗 Run failed: ${run.errorCode ?? ""} ${run.result.ledgerCode ?? ""}`),
    details([
      ["批次 Run", h("span", { className: "mono" }, run.runId)],
      ["項目 · 月份 Programme · period", `${run.programmeId} · ${run.period}`],
      ["已列出 Listed", String(run.listed)],
      ["已發放 Paid", String(run.paid)],
      ["跳過 Skipped", String(run.skipped)],
      ["總額 Total", yuan(run.total)],
      ["交易數 Transactions", String(run.result.transactionCount)],
    ]),
    skipped.length
      ? table(
          "跳過原因 Why cases were skipped",
          ["原因 Reason", "案件數 Cases"],
          skipped.map(([k, v]) => [k, String(v)]),
        )
      : null,
    run.result.transactions.length
      ? table(
          "交易 Transactions",
          ["交易 Transaction", "區塊 Block", "發放 Paid", "跳過 Skipped"],
          run.result.transactions.map((t) => [
            h("span", { className: "mono" }, t.txHash),
            String(t.blockNumber),
            String(t.paid),
            String(t.skipped),
          ]),
        )
      : null,
    settlement,
    h(
      "div",
      { className: "row" },
      h("button", { type: "button", onclick: refresh }, "刷新入賬狀態 Refresh settlement status"),
    ),
  );
  await refresh();
  await showBalances();
}

/** Tab and Shift+Tab cycle inside the open dialog instead of leaving it for the browser's own controls. */
function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const stops = [...dialog.querySelectorAll("button, [href], input, select, textarea")].filter((el) => !el.disabled);
    const first = stops[0];
    const last = stops[stops.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}

// ---- wiring -------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  setUpSignIn(["finance"], async (inst) => {
    me = inst;
    $("#appropriate").hidden = me.region !== "0";
    programmes = (await fillProgrammes([])).filter((p) => p.region === me.region);
    // Voucher programmes are funded like any other but never paid in payout runs (their cases get vouchers).
    for (const [select, list] of [
      [$("#fund-programme"), programmes],
      [$("#run-programme"), programmes.filter((p) => p.kind !== "voucher")],
    ]) {
      fill(
        select,
        list.map((p) => h("option", { value: p.programmeId }, programmeLabel(p))),
      );
    }
    $("#fund").hidden = programmes.length === 0;
    $("#run").hidden = programmes.length === 0;
    $("#allocate").hidden = me.region.length > 6 || (me.region !== "0" && !me.region.endsWith("00"));
    await showBalances();
    await setUpVouchers(programmes);
  });
  wireVouchers();
  $("#refresh-balances").addEventListener("click", showBalances);
  $("#appropriate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitMoney(event.target, $("#appropriate-result"), "/budget/appropriations");
  });
  $("#allocate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const toRegion = $("#allocate-to").value.trim();
    if (!toRegion) {
      fill($("#allocate-result"), verdict("bad", "請填寫下級地區代碼 Enter the region below"));
      return;
    }
    submitMoney(event.target, $("#allocate-result"), "/budget/allocations", { toRegion });
  });
  $("#fund-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const programmeId = $("#fund-programme").value;
    submitMoney(event.target, $("#fund-result"), `/budget/programmes/${programmeId}/funding`);
  });
  $("#run-form").addEventListener("submit", reviewRun);
  $("#run-confirm").addEventListener("click", startRun);
  $("#run-cancel").addEventListener("click", () => $("#run-dialog").close());
  trapFocus($("#run-dialog"));
  // Cancelled (the button or Escape): nothing starts, and focus goes back to the button that opened the dialog.
  // The close event comes later than close() (Chromium fires it at the next frame, which a busy machine delays past
  // the next key press): if the dialog is open again by then, the event is the cancelled one's, and the new
  // confirmation it would drop stays.
  $("#run-dialog").addEventListener("close", () => {
    if ($("#run-dialog").open || pending === null) return;
    pending = null;
    $("#run-form button[type=submit]").focus();
  });
});
