/**
 * A sweep report as one self-contained, printable HTML page: no scripts, no external assets (styles and charts are
 * inline SVG and CSS), readable on screen and on A4 paper. Labels are Chinese with English. Every string taken from
 * the report is escaped; the report itself holds ids, codes and amounts only.
 */
import type { ExceptionKind, SweepException } from "./types";
import type { FundStage, SweepReport } from "./sweep";
import { yuan } from "../../../../lib/money";
import { LEVEL_NAMES } from "../../../../lib/regions";

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const e = escapeHtml;

const STAGE_LABELS: Record<FundStage["stage"], string> = {
  appropriated: "中央撥款 Appropriated",
  province: "撥至省 To provinces",
  city: "撥至市 To cities",
  county: "撥至縣 To counties",
  pools: "項目資金池 Programme pools",
  paid: "發放 Paid out",
  vouchers: "救助券發行 Vouchers issued",
  "redemptions-paid": "兌付機構 Redemptions paid",
  settled: "到賬 Settled",
  failed: "退回 Failed",
  "clawed-back": "追回 Clawed back",
};

const KIND_LABELS: Record<ExceptionKind, string> = {
  "record-modified": "記錄被修改 Record modified",
  "record-deleted": "記錄被刪除 Record deleted",
  "record-inserted": "記錄被插入 Record inserted",
  "records-swapped": "記錄被調換 Records swapped",
  "anchor-missing": "錨定缺失 Anchor missing",
  "anchor-root-mismatch": "根不符 Anchor root mismatch",
  "proof-mismatch": "證明不符 Proof mismatch",
  "anchoring-overdue": "錨定逾時 Anchoring overdue",
  "conservation-broken": "資金不守恆 Conservation broken",
  "balance-mismatch": "餘額不符 Balance mismatch",
  "voucher-conservation-broken": "救助券不守恆 Voucher books broken",
  "voucher-remaining-mismatch": "券面餘額不符 Voucher remaining mismatch",
  "redemption-after-expiry": "過期兌付 Redemption after expiry",
  "payout-without-approval": "未經審批發放 Payout without approval",
  "payout-while-suspended": "暫停期間發放 Payout while suspended",
  "payout-after-exit": "退出後發放 Payout after exit",
  "payout-amount-mismatch": "金額不符 Payout amount mismatch",
  "period-paid-twice": "重複發放 Period paid twice",
  "settlement-without-payout": "無發放之到賬 Settlement without payout",
  "payout-unsettled": "逾期未到賬 Payout unsettled",
  "receipt-missing": "未確認收款 Receipt missing",
  "dispute-open": "爭議未決 Dispute open",
  "dispute-overdue": "爭議逾期 Dispute overdue",
};

const PALETTE = ["#1f5fa8", "#c0504d", "#4f8a3c", "#8064a2", "#d98c1f", "#2c9aa0", "#7f7f7f", "#a05a2c"];

function kindLabel(kind: string): string {
  return KIND_LABELS[kind as ExceptionKind] ?? kind;
}

function scopeText(report: SweepReport): string {
  const s = report.scope;
  const parts = [
    `地區 Region: ${s.region ?? "全部 all"}`,
    `項目 Programme: ${s.programmeId ?? "全部 all"}`,
    `期間 Period: ${s.period ?? "全部 all"}`,
  ];
  return parts.join(" · ");
}

/** The fund flow from central to payouts: one bar per stage, linked like a Sankey diagram. */
function fundFlowSvg(stages: FundStage[]): string {
  const width = 760;
  const labelWidth = 220;
  const barMax = width - labelWidth - 150;
  const row = 34;
  const bar = 20;
  const values = stages.map((s) => {
    try {
      return BigInt(s.amount);
    } catch {
      return 0n;
    }
  });
  const max = values.reduce((m, v) => (v > m ? v : m), 0n);
  const w = (v: bigint) => (max === 0n || v <= 0n ? 0 : Math.max(1, Number((v * BigInt(barMax * 1000)) / max) / 1000));
  const height = stages.length * row + 10;
  const parts: string[] = [];
  stages.forEach((s, i) => {
    const y = 5 + i * row;
    const bw = w(values[i]);
    const color = i < 4 ? "#1f5fa8" : i === 4 ? "#2c9aa0" : i === 5 ? "#4f8a3c" : i === 6 ? "#6aa84f" : "#c0504d";
    if (i > 0 && i <= 6) {
      const pw = w(values[i - 1]);
      const py = y - row + bar;
      parts.push(
        `<polygon points="${labelWidth},${py} ${labelWidth + pw},${py} ${labelWidth + bw},${y} ${labelWidth},${y}" ` +
          `fill="${color}" fill-opacity="0.15"/>`,
      );
    }
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" class="lbl">${e(STAGE_LABELS[s.stage] ?? s.stage)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${bw.toFixed(2)}" height="${bar}" fill="${color}" rx="2"/>`,
      `<text x="${labelWidth + bw + 6}" y="${y + 15}" class="val">${e(yuan(s.amount))} (${e(s.count)})</text>`,
    );
  });
  return (
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" ` +
    `aria-label="資金流向 Fund flow">${parts.join("")}</svg>`
  );
}

/** Payouts per month: one stacked bar per period (one colour per programme), settled marked below each bar. */
function payoutsSvg(report: SweepReport): string {
  const rows = report.payoutsPerMonth;
  if (rows.length === 0) return `<p class="none">無發放 No payouts.</p>`;
  const periods = [...new Set(rows.map((r) => r.period))].sort();
  const programmes = [...new Set(rows.map((r) => r.programmeId))].sort((a, b) => a - b);
  const byPeriod = new Map<string, Map<number, bigint>>();
  for (const r of rows) {
    const m = byPeriod.get(r.period) ?? new Map<number, bigint>();
    m.set(r.programmeId, (m.get(r.programmeId) ?? 0n) + BigInt(r.paid.amount));
    byPeriod.set(r.period, m);
  }
  const totals = periods.map((p) => [...(byPeriod.get(p)?.values() ?? [])].reduce((s, v) => s + v, 0n));
  const max = totals.reduce((m, v) => (v > m ? v : m), 0n);
  const chartHeight = 180;
  const slot = Math.max(28, Math.min(80, Math.floor(700 / periods.length)));
  const left = 10;
  const width = Math.max(400, left + slot * periods.length + 10);
  const height = chartHeight + 60;
  const h = (v: bigint) => (max === 0n ? 0 : Number((v * BigInt(chartHeight * 1000)) / max) / 1000);
  const parts: string[] = [];
  periods.forEach((p, i) => {
    const x = left + i * slot + 4;
    let y = 10 + chartHeight;
    programmes.forEach((id, k) => {
      const v = byPeriod.get(p)?.get(id) ?? 0n;
      if (v <= 0n) return;
      const bh = h(v);
      y -= bh;
      parts.push(
        `<rect x="${x}" y="${y.toFixed(2)}" width="${slot - 8}" height="${bh.toFixed(2)}" ` +
          `fill="${PALETTE[k % PALETTE.length]}"><title>${e(`${p} · 項目 ${id}: ${yuan(v)}`)}</title></rect>`,
      );
    });
    parts.push(
      `<text x="${x + (slot - 8) / 2}" y="${chartHeight + 26}" text-anchor="middle" class="lbl">${e(p)}</text>`,
      `<text x="${x + (slot - 8) / 2}" y="${Math.max(12, y - 4).toFixed(2)}" text-anchor="middle" class="small">` +
        `${e(yuan(totals[i]))}</text>`,
    );
  });
  const legend = programmes
    .map(
      (id, k) =>
        `<span class="key"><span class="swatch" style="background:${PALETTE[k % PALETTE.length]}"></span>` +
        `項目 Programme ${e(id)}</span>`,
    )
    .join(" ");
  return (
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" ` +
    `aria-label="每月發放 Payouts per month"><line x1="${left}" y1="${10 + chartHeight}" ` +
    `x2="${width - 10}" y2="${10 + chartHeight}" stroke="#888"/>${parts.join("")}</svg><p class="legend">${legend}</p>`
  );
}

function table(headers: string[], rows: string[][], cls = ""): string {
  if (rows.length === 0) return `<p class="none">無 None.</p>`;
  const head = headers.map((h) => `<th>${e(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.join("")}</tr>`).join("\n");
  return `<table class="${e(cls)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const td = (v: unknown, cls = "") => `<td${cls ? ` class="${e(cls)}"` : ""}>${e(v)}</td>`;
const num = (v: unknown) => td(v, "num");
const ok = (holds: boolean) => td(holds ? "✓ 相符 holds" : "✗ 不符 broken", holds ? "ok" : "bad");

function exceptionRows(items: SweepException[]): string[][] {
  return items.map((x) => [
    td(x.severity === "error" ? "錯誤 error" : "警告 warning", x.severity === "error" ? "bad" : "warn"),
    td(kindLabel(x.kind)),
    td(x.caseId ?? "", "id"),
    td(x.recordId ?? x.payoutId ?? (x.anchorSequence !== undefined ? `anchor ${x.anchorSequence}` : ""), "id"),
    td(x.txHash ?? "", "id"),
    td(x.detail),
  ]);
}

const STYLE = `
:root { color-scheme: light; }
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; margin: 24px auto;
  max-width: 1100px; color: #222; line-height: 1.4; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; border-bottom: 2px solid #1f5fa8; padding-bottom: 3px;
  margin-top: 28px; }
.meta { color: #555; font-size: 13px; }
.verdict { display: inline-block; padding: 6px 14px; border-radius: 4px; font-weight: bold; font-size: 16px;
  margin: 10px 0; }
.verdict.clean { background: #e3f2e1; color: #24631b; border: 1px solid #4f8a3c; }
.verdict.errors { background: #fbe4e3; color: #8e1f1b; border: 1px solid #c0504d; }
.verdict.warnings { background: #fdf1dc; color: #7a4d06; border: 1px solid #d98c1f; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef3fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; word-break: break-all; }
td.ok { color: #24631b; } td.bad { color: #8e1f1b; font-weight: bold; } td.warn { color: #7a4d06; }
.chart { max-width: 100%; height: auto; } .chart .lbl { font-size: 12px; fill: #333; }
.chart .val { font-size: 12px; fill: #222; } .chart .small { font-size: 10px; fill: #444; }
.legend { font-size: 12px; } .key { margin-right: 12px; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.counts div { border: 1px solid #ccc; border-radius: 4px; padding: 4px 10px; font-size: 13px; }
.counts b { display: block; font-size: 16px; }
.none { color: #666; font-style: italic; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; padding: 0; }
  h2 { break-after: avoid; } table, .chart { break-inside: avoid; }
  thead { display: table-header-group; } tr { break-inside: avoid; }
  .verdict { border-width: 2px; }
  a { color: inherit; text-decoration: none; }
  @page { size: A4; margin: 14mm; }
}`;

/** The report as a self-contained HTML page. */
export function renderSweepHtml(report: SweepReport): string {
  const v = report.verdict;
  const verdictClass = v.errors > 0 ? "errors" : v.warnings > 0 ? "warnings" : "clean";
  const verdictText = v.clean ? "無異常 Clean" : `${v.errors} 項錯誤 errors, ${v.warnings} 項警告 warnings`;
  const c = report.counts;
  const counts = [
    ["核對記錄 Records checked", c.recordsChecked],
    ["已錨定 Anchored", c.recordsAnchored],
    ["待錨定 Pending", c.recordsPending],
    ["錨定批次 Anchors", c.anchors],
    ["鏈上事件 Events", c.events],
    ["個案 Cases", c.cases],
    ["發放筆數 Payouts", c.payouts],
  ]
    .map(([k, n]) => `<div>${e(k)}<b>${e(Number(n).toLocaleString("en-US"))}</b></div>`)
    .join("");
  const cons = report.conservation;
  const ff = report.fundFlow;

  const levels = table(
    [
      "層級 Level",
      "地區數 Regions",
      "收入 Came in",
      "支出 Went out",
      "餘額 Balance",
      "鏈上餘額 On chain",
      "核對 Check",
    ],
    report.levels.map((l) => [
      td(LEVEL_NAMES[l.level] ?? l.level),
      num(l.regions),
      num(yuan(l.cameIn)),
      num(yuan(l.wentOut)),
      num(yuan(l.balance)),
      num(yuan(l.chainBalance)),
      ok(l.holds),
    ]),
  );
  const pools = table(
    [
      "項目 Programme",
      "地區 Region",
      "注資 Funded",
      "撤資 Defunded",
      "發放 Paid",
      "退回 Failed",
      "追回 Clawed back",
      "餘額 Balance",
      "鏈上 On chain",
      "核對 Check",
    ],
    report.pools.map((p) => [
      td(p.programmeId),
      td(p.region),
      num(yuan(p.funded)),
      num(yuan(p.defunded)),
      num(yuan(p.paidOut)),
      num(yuan(p.failed)),
      num(yuan(p.clawedBack)),
      num(yuan(p.balance)),
      num(yuan(p.chainBalance)),
      ok(p.holds),
    ]),
  );
  const voucherBooks = table(
    [
      "項目 Programme",
      "地區 Region",
      "張數 Vouchers",
      "發行 Issued",
      "兌付 Redeemed",
      "過期 Expired",
      "未用 Outstanding",
      "已付機構 Paid",
      "應付機構 Owed",
      "核對 Check",
    ],
    report.vouchers.programmes.map((p) => [
      td(p.programmeId),
      td(p.region ?? ""),
      num(p.vouchers),
      num(yuan(p.issued)),
      num(yuan(p.redeemed)),
      num(yuan(p.expired)),
      num(yuan(p.outstanding)),
      num(yuan(p.paid)),
      num(yuan(p.unpaid)),
      ok(p.holds),
    ]),
    "vouchers",
  );
  const months = table(
    ["期間 Period", "項目 Programme", "發放 Paid", "金額 Amount", "到賬 Settled", "退回 Failed", "未結 Outstanding"],
    report.payoutsPerMonth.map((p) => [
      td(p.period),
      td(p.programmeId),
      num(p.paid.count),
      num(yuan(p.paid.amount)),
      num(`${p.settled.count} · ${yuan(p.settled.amount)}`),
      num(`${p.failed.count} · ${yuan(p.failed.amount)}`),
      num(`${p.outstanding.count} · ${yuan(p.outstanding.amount)}`),
    ]),
    "months",
  );
  const exceptionHeaders = [
    "嚴重度 Severity",
    "類別 Kind",
    "個案 Case",
    "記錄/發放 Record / payout",
    "交易 Tx hash",
    "說明 Detail",
  ];
  const exceptions = table(exceptionHeaders, exceptionRows(report.exceptions), "exceptions");
  const disputes = table(exceptionHeaders, exceptionRows(report.disputes.items), "disputes");
  const kindCounts = Object.entries(report.exceptionCounts)
    .map(([k, n]) => `${e(kindLabel(k))}: ${e(n)}`)
    .join(" · ");

  return `<!DOCTYPE html>
<html lang="zh-Hans">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>審計核查報告 Audit sweep report · ${e(report.finishedAt)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>審計核查報告 Audit sweep report</h1>
<p class="meta scope">${e(scopeText(report))}</p>
<p class="meta">鏈 Chain ${e(report.chain.chainId)} · 區塊 Blocks ${e(report.chain.fromBlock)}–${e(report.chain.toBlock)} ·
鏈上時間 Chain time ${e(report.chain.chainTime)} · 開始 Started ${e(report.startedAt)} · 完成 Finished ${e(report.finishedAt)}
(${e((report.durationMs / 1000).toFixed(1))} s)${report.sweepId ? ` · 編號 Sweep ${e(report.sweepId)}` : ""}</p>
<p class="meta">合約 Contracts: 登記 registry ${e(report.chain.contracts.registry)} · 賬本 ledger ${e(report.chain.contracts.ledger)} ·
收據 receipts ${e(report.chain.contracts.receipts)} · 錨定 anchors ${e(report.chain.contracts.anchors)}</p>
<div class="verdict ${verdictClass}">結論 Verdict: ${e(verdictText)}</div>
<p class="meta">資金守恆 Conservation: ${cons.holds ? "✓ 成立 holds" : "✗ 不成立 broken"} ·
撥款 Appropriated ${e(yuan(cons.appropriated))} = 留存 Held ${e(yuan(cons.held))} (含救助券託管 incl. voucher escrow ${e(yuan(cons.voucherEscrow))}) + 已發放 Paid out ${e(yuan(cons.paidOut))}</p>
<div class="counts">${counts}</div>
</header>

<section>
<h2>資金流向 Fund flow (中央 → 省 → 市 → 縣 → 資金池 → 發放 → 到賬/退回)</h2>
${fundFlowSvg(ff.stages)}
<p class="meta">上繳 Returned upward: ${e(yuan(ff.returned.amount))} (${e(ff.returned.count)}) ·
撤回資金池 Defunded from pools: ${e(yuan(ff.defunded.amount))} (${e(ff.defunded.count)})</p>
</section>

<section>
<h2>每月發放 Payouts per month</h2>
${payoutsSvg(report)}
${months}
</section>

<section>
<h2>各級餘額 Balances per level</h2>
${levels}
<h2>項目資金池 Programme pools</h2>
${pools}
</section>

<section>
<h2>救助券 Vouchers (發行 issued = 兌付 redeemed + 過期 expired + 未用 outstanding)</h2>
<p class="meta">${report.vouchers.holds ? "✓ 成立 holds" : "✗ 不成立 broken"} · 券 ${e(report.vouchers.vouchers)} ·
兌付筆數 Redemptions ${e(report.vouchers.redemptions)} · 託管 Escrow ${e(yuan(report.vouchers.escrow))}${
    report.vouchers.chainEscrow === null ? "" : ` (鏈上 on chain ${e(yuan(report.vouchers.chainEscrow))})`
  }</p>
${voucherBooks}
</section>

<section>
<h2>異常 Exceptions (${e(v.errors)} 錯誤 errors, ${e(v.warnings)} 警告 warnings)</h2>
${kindCounts ? `<p class="meta">${kindCounts}</p>` : ""}
${report.exceptionsTruncated ? `<p class="meta">僅列出前 ${e(report.exceptions.length)} 項 Only the first ${e(report.exceptions.length)} are listed.</p>` : ""}
${exceptions}
</section>

<section>
<h2>爭議 Disputes (未決 open ${e(report.disputes.open)}, 逾期 overdue ${e(report.disputes.overdue)})</h2>
${disputes}
</section>

<footer><p class="meta">格式 Format ${e(report.format)} · 報告僅含編號、代碼與金額，不含個人資料 The report holds ids, codes and amounts only: no personal data.</p></footer>
</body>
</html>
`;
}
