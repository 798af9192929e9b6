// The auditor's page (審計核查): verify a record by id or a receipt or bundle (pasted, uploaded, or a QR code scanned
// with the camera or read from a picture), the fund trail of a region, programme and period as a picture, an audit
// sweep's exceptions and disputes with links to their evidence, and proof bundles to download. Everything comes from the public API with the auditor's key.
import { ApiFailure, call, getJson, poll, postJson } from "./api.js";
import { flowChart, monthlyBars, PALETTE, swatch } from "./charts.js";
import { $, details, download, fill, filenameOf, h, table } from "./dom.js";
import { levelName, yuan } from "./format.js";
import { failureText, institutionKey, setUpSignIn, verdict } from "./institution.js";
import { fillProgrammes } from "./programmes.js";
import { decodeImage, setUpCameraScanner } from "./qr-scan.js";

const key = institutionKey;
const mono = (text) => h("span", { className: "mono" }, text ?? "—");
const yes = (b) => (b === true ? "✓ 是 yes" : b === false ? "✗ 否 no" : "— 未檢查 not checked");

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : "";
}

function scopeOf(form) {
  const data = new FormData(form);
  return {
    region: String(data.get("region") ?? "").trim(),
    programmeId: String(data.get("programmeId") ?? ""),
    period: String(data.get("period") ?? "").trim(),
  };
}

// ---- proofs -------------------------------------------------------------------------------------------------

function proofFacts(proof) {
  if (!proof) return h("p", { className: "note" }, "尚未錨定，沒有證明路徑 Not anchored yet: no proof path.");
  return h(
    "div",
    {},
    details([
      ["錨定交易 Anchor transaction", mono(proof.txHash)],
      ["區塊 Block", String(proof.blockNumber)],
      ["錨定序號 Anchor sequence", String(proof.anchorSequence)],
      ["葉子位置 Leaf", `${proof.leafIndex} / ${proof.treeSize}`],
      ["默克爾根 Merkle root", mono(proof.root)],
      ["合約 Anchor log", mono(proof.contract)],
    ]),
    h("h4", {}, `證明路徑 Proof path (${proof.siblings.length})`),
    proof.siblings.length
      ? h(
          "ol",
          { className: "mono proof-path" },
          proof.siblings.map((x) => h("li", {}, x)),
        )
      : h("p", { className: "note" }, "單葉樹，路徑為空 A one-leaf tree: the path is empty."),
  );
}

const RECORD_VERDICTS = {
  verified: ["ok", "✓ 核驗通過 Verified: the digest matches and the proof holds offline and on chain"],
  "pending-anchor": ["wait", "… 等待錨定 Not anchored yet: the digest matches, the proof comes with the next batch"],
  tampered: ["bad", "✗ 記錄被篡改 Tampered: the record does not match what was anchored"],
};

async function verifyRecord(recordId) {
  const out = $("#record-result");
  fill(out, h("p", {}, "核驗中 Verifying…"));
  try {
    const v = await getJson(key, `/records/${encodeURIComponent(recordId)}/verification`);
    const [kind, text] = RECORD_VERDICTS[v.verdict] ?? ["bad", v.verdict];
    fill(
      out,
      verdict(kind, text),
      details([
        ["記錄 Record", mono(v.recordId)],
        ["類型 Kind", v.kind],
        ["案件 Case", mono(v.caseId)],
        ["摘要 Digest", mono(v.digest)],
        ["摘要相符 Digest matches", yes(v.digestMatches)],
        ["已錨定 Anchored", yes(v.anchored)],
        ["離線證明 Proof offline", yes(v.verifiedOffline)],
        ["鏈上證明 Proof on chain", yes(v.verifiedOnChain)],
      ]),
      proofFacts(v.proof),
    );
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  }
}

// ---- receipts and bundles -----------------------------------------------------------------------------------

const CHECK_MARK = (ok) => (ok === true ? "✓" : ok === false ? "✗" : "—");

function checksTable(result) {
  return table(
    "檢查項 Checks",
    ["", "檢查 Check", "說明 Detail"],
    result.checks.map((c) => [CHECK_MARK(c.ok), c.check, c.detail]),
  );
}

function documentSummary(doc) {
  if (doc?.format === "relief-receipt-bundle-v1") {
    let body = {};
    try {
      body = JSON.parse(doc.receipt.canonical);
    } catch {
      // the checks say so
    }
    return h(
      "div",
      {},
      details([
        ["支付 Payout", mono(body.payoutId)],
        ["金額 Amount", body.amountFen ? yuan(body.amountFen) : "—"],
        ["結果 Outcome", body.outcome ?? "—"],
        ["簽發 Issued", body.issuedAt ?? "—"],
        ["收據摘要 Receipt digest", mono(doc.proof?.recordDigest)],
      ]),
      proofFacts(doc.proof),
    );
  }
  if (doc?.format === "relief-audit-bundle-v1") {
    return details([
      ["對象 Subject", `${doc.subject?.kind ?? "?"}`],
      ["記錄數 Records", String(doc.records?.length ?? 0)],
      ["錨定數 Anchors", String(doc.anchors?.length ?? 0)],
      ["檢查點 Checkpoint", `${doc.checkpoint?.size ?? "?"} · ${doc.checkpoint?.root ?? "?"}`],
    ]);
  }
  return null;
}

/** The receipt bundle of a QR code's payload ({ canonical, signature }), fetched from the gateway and compared. */
async function bundleOfQr(payload) {
  const body = JSON.parse(payload.canonical);
  const response = await call(key, "GET", `/receipts/${encodeURIComponent(body.payoutId)}/bundle`);
  const text = await response.text();
  const bundle = JSON.parse(text);
  const same = bundle.receipt.canonical === payload.canonical && bundle.receipt.signature === payload.signature;
  return { text, bundle, same };
}

async function verifyText(text) {
  const out = $("#receipt-result");
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    fill(out, verdict("bad", "✗ 不是 JSON 文件 Not a JSON document"));
    return;
  }
  fill(out, h("p", {}, "核驗中 Verifying…"));
  try {
    let documentText = text;
    let note = null;
    if (doc && typeof doc.canonical === "string" && typeof doc.signature === "string" && !doc.format) {
      const found = await bundleOfQr(doc);
      if (!found.same) {
        fill(out, verdict("bad", "✗ 與網關簽發的收據不一致 Does not match the receipt the gateway issued"));
        return;
      }
      documentText = found.text;
      doc = found.bundle;
      note = h("p", { className: "note" }, "二維碼收據與網關記錄一致 The QR receipt is the one the gateway issued.");
    }
    const result = await postJson(key, "/verifications", { document: documentText });
    const anchoredNote = result.checks.some((c) => c.ok === null) ? "（部分檢查未運行 some checks not run）" : "";
    fill(
      out,
      result.valid
        ? verdict("ok", `✓ 有效 Valid ${result.kind} ${anchoredNote}`)
        : verdict("bad", `✗ 無效 NOT valid ${result.kind}`),
      note,
      documentSummary(doc),
      checksTable(result),
    );
  } catch (e) {
    const missing = e instanceof ApiFailure && e.status === 404;
    fill(out, verdict("bad", missing ? "✗ 網關沒有這張收據 The gateway has no such receipt" : failureText(e)));
  }
}

async function verifyReceiptOfPayout(payoutId) {
  const out = $("#receipt-result");
  try {
    const response = await call(key, "GET", `/receipts/${encodeURIComponent(payoutId)}/bundle`);
    const text = await response.text();
    $("#receipt-text").value = text;
    $("#receipt-h").focus();
    await verifyText(text);
  } catch (e) {
    $("#receipt-h").focus();
    fill(out, verdict("bad", failureText(e)));
  }
}

// ---- QR codes: pictures and the camera --------------------------------------------------------------------

const isImage = (file) => file.type.startsWith("image/") || /\.(png|jpe?g|svg)$/i.test(file.name);
const scanStatus = (text) => fill($("#scan-status"), text);

/** A receipt from a file: the QR code's text of a picture, or the file's text (a JSON document); then verified. */
async function verifyFile(file) {
  let text;
  if (isImage(file)) {
    fill($("#receipt-result"), h("p", {}, "讀取二維碼 Reading the QR code…"));
    try {
      text = await decodeImage(file);
    } catch {
      text = null;
    }
    if (!text) {
      scanStatus("");
      fill($("#receipt-result"), verdict("bad", "✗ 圖片中沒有找到二維碼 No QR code found in the picture"));
      return;
    }
    scanStatus("已讀取二維碼 QR code read from the picture");
  } else {
    text = await file.text();
  }
  $("#receipt-text").value = text;
  await verifyText(text);
}

const NO_CAMERA =
  "沒有可用的攝像頭：請上傳或貼上二維碼圖片 No camera available: upload or paste a picture of the QR code instead";

function setUpScanner() {
  setUpCameraScanner({
    noCamera: NO_CAMERA,
    onText: async (text) => {
      $("#receipt-text").value = text;
      await verifyText(text);
    },
  });
}

// ---- fund trail ---------------------------------------------------------------------------------------------

function sum(items, pick) {
  return items.reduce((a, x) => a + BigInt(pick(x)), 0n);
}

function trailStages(trail) {
  const flows = trail.flows;
  const of = (type, filter = () => true) => flows.filter((f) => f.type === type && filter(f));
  const stage = (label, items, color) => ({
    label,
    amount: String(sum(items, (f) => f.amount)),
    count: items.reduce((a, f) => a + f.count, 0),
    color,
  });
  const allocations = (level) => of("allocation", (f) => levelName(f.to) === level);
  const payouts = trail.payouts;
  return [
    stage("中央撥款 Appropriated", of("appropriation"), PALETTE[0]),
    stage("撥至省 To provinces", allocations("省 Province"), PALETTE[0]),
    stage("撥至市 To cities", allocations("市 City"), PALETTE[0]),
    stage("撥至縣 To counties", allocations("縣 County"), PALETTE[0]),
    stage("注入項目資金池 Into programme pools", of("programme-funding"), PALETTE[5]),
    {
      label: "發放 Paid out",
      amount: String(sum(payouts, (p) => p.amount)),
      count: payouts.reduce((a, p) => a + p.count, 0),
      color: PALETTE[2],
    },
    stage("發行救助券 Vouchers issued", of("voucher-issue"), PALETTE[3]),
    stage("兌付機構 Redemptions paid to providers", of("voucher-payment"), PALETTE[3]),
    {
      label: "銀行入賬 Settled",
      amount: String(sum(payouts, (p) => p.settled.amount)),
      count: payouts.reduce((a, p) => a + p.settled.count, 0),
      color: "#6aa84f",
    },
    {
      label: "入賬失敗 Failed",
      amount: String(sum(payouts, (p) => p.failed.amount)),
      count: payouts.reduce((a, p) => a + p.failed.count, 0),
      color: PALETTE[1],
    },
  ];
}

async function showTrail(scope) {
  const out = $("#trail-result");
  fill(out, h("p", {}, "讀取鏈上事件 Reading chain events…"));
  try {
    const trail = await getJson(key, `/fund-trail${query(scope)}`);
    const c = trail.conservation;
    const bars = monthlyBars(
      trail.payouts.map((p) => ({ period: p.period, programmeId: p.programmeId, amount: p.amount })),
      "每月發放 Payouts per month",
    );
    fill(
      out,
      c.holds && c.matchesChain
        ? verdict("ok", "✓ 資金守恆，與鏈上餘額一致 Conservation holds and matches the chain")
        : verdict("bad", "✗ 資金不守恆或與鏈上不符 Conservation broken or differs from the chain"),
      details([
        [
          "範圍 Scope",
          `${trail.scope.region} · ${trail.scope.programmeId ?? "全部 all"} · ${trail.scope.period ?? "全部 all"}`,
        ],
        ["區塊 Blocks", `${trail.scope.fromBlock} – ${trail.scope.toBlock}`],
        ["撥款 Appropriated", yuan(c.appropriated)],
        ["結存 Held", yuan(c.held)],
        ["已發放 Paid out", yuan(c.paidOut)],
      ]),
      h("h3", {}, "資金流向 From appropriation to payouts"),
      flowChart(trailStages(trail), "資金流向 Fund flow"),
      h("h3", {}, "每月發放 Payouts per month"),
      trail.payouts.length ? bars.svg : h("p", { className: "note" }, "無發放 No payouts."),
      h(
        "p",
        { className: "legend" },
        bars.programmes.map((id, k) => swatch(PALETTE[k % PALETTE.length], `項目 Programme ${id}`)),
      ),
      h(
        "div",
        { className: "scroll" },
        table(
          "各級餘額 Balances per level",
          ["層級 Level", "地區 Region", "事件重建 From events", "鏈上 On chain", "相符 Match"],
          trail.regions.map((r) => [
            levelName(r.region),
            r.region,
            yuan(r.balance),
            yuan(r.chainBalance),
            yes(r.matches),
          ]),
        ),
        table(
          "項目資金池 Programme pools",
          ["項目 Programme", "地區 Region", "注入 Funded", "發放 Paid", "失敗 Failed", "餘額 Balance", "相符 Match"],
          trail.pools.map((p) => [
            String(p.programmeId),
            p.region,
            yuan(p.funded),
            yuan(p.paidOut),
            yuan(p.failed),
            yuan(p.balance),
            yes(p.matches),
          ]),
        ),
        table(
          "每月發放 Payouts per month",
          ["月份 Period", "項目 Programme", "筆數 Count", "金額 Amount", "已入賬 Settled", "失敗 Failed"],
          trail.payouts.map((p) => [
            p.period,
            String(p.programmeId),
            String(p.count),
            yuan(p.amount),
            `${p.settled.count} · ${yuan(p.settled.amount)}`,
            `${p.failed.count} · ${yuan(p.failed.amount)}`,
          ]),
        ),
      ),
    );
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  }
}

// ---- sweep --------------------------------------------------------------------------------------------------

function evidence(e) {
  const links = [];
  if (e.recordId) {
    links.push(
      h(
        "button",
        {
          type: "button",
          className: "evidence-record",
          onclick: () => {
            $("#record-id").value = e.recordId;
            $("#verify-h").focus();
            verifyRecord(e.recordId);
          },
        },
        "核驗記錄 Verify record",
      ),
    );
  }
  if (e.payoutId) {
    links.push(
      h(
        "button",
        { type: "button", className: "evidence-receipt", onclick: () => verifyReceiptOfPayout(e.payoutId) },
        "核驗收據 Verify receipt",
      ),
    );
  }
  if (e.caseId) {
    links.push(
      h(
        "button",
        { type: "button", className: "evidence-case", onclick: () => downloadCaseBundle(e.caseId) },
        "案件證明包 Case bundle",
      ),
    );
  }
  if (e.txHash) links.push(h("span", { className: "mono", title: "交易 transaction" }, `tx ${e.txHash}`));
  return h("div", { className: "row evidence" }, links);
}

function exceptionRows(items) {
  return items.map((e) => [e.severity === "error" ? "✗ 錯誤 error" : "! 提示 warning", e.kind, e.detail, evidence(e)]);
}

async function runSweep(scope) {
  const out = $("#sweep-result");
  const bar = h("progress", { max: 1, value: 0, "aria-label": "核查進度 Sweep progress" });
  const line = h("p", { role: "status" }, "開始 Starting…");
  fill(out, bar, line);
  try {
    const body = {};
    if (scope.region) body.region = scope.region;
    if (scope.programmeId) body.programmeId = Number(scope.programmeId);
    if (scope.period) body.period = scope.period;
    const { sweepId } = await postJson(key, "/audit/sweeps", body);
    const done = await poll(
      () => getJson(key, `/audit/sweeps/${sweepId}`),
      (s) => s.status !== "running",
      (s) => {
        const p = s.progress;
        if (p?.total) {
          bar.max = p.total;
          bar.value = p.done;
        }
        fill(line, `${s.status} · ${p ? `${p.phase} ${p.done}${p.total ? ` / ${p.total}` : ""}` : ""}`);
      },
    );
    if (done.status === "failed") {
      fill(out, verdict("bad", `✗ 核查失敗 Sweep failed: ${done.error ?? ""}`));
      return;
    }
    const report = await getJson(key, `/audit/sweeps/${sweepId}/report`);
    const v = report.verdict;
    fill(
      out,
      v.clean
        ? verdict("ok", `✓ 未發現錯誤 Clean: 0 errors, ${v.warnings} warnings`)
        : verdict(v.errors > 0 ? "bad" : "wait", `${v.errors} 錯誤 errors · ${v.warnings} 提示 warnings`),
      details([
        ["核查編號 Sweep", mono(sweepId)],
        [
          "記錄 Records",
          `${report.counts.recordsChecked} 已查 checked · ${report.counts.recordsAnchored} 已錨定 anchored · ${report.counts.recordsPending} 待錨定 pending`,
        ],
        ["案件 · 支付 Cases · payouts", `${report.counts.cases} · ${report.counts.payouts}`],
        ["爭議 Disputes", `${report.disputes.open} 未結 open · ${report.disputes.overdue} 逾期 overdue`],
      ]),
      h(
        "div",
        { className: "row" },
        h("button", { type: "button", onclick: () => downloadReport(sweepId) }, "下載報告 Download printable report"),
      ),
      h(
        "div",
        { className: "scroll" },
        table("爭議 Disputes", ["", "類型 Kind", "說明 Detail", "證據 Evidence"], exceptionRows(report.disputes.items)),
        table(
          "異常 Exceptions",
          ["", "類型 Kind", "說明 Detail", "證據 Evidence"],
          exceptionRows(report.exceptions.filter((e) => !e.kind.startsWith("dispute-"))),
        ),
      ),
    );
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  }
}

async function downloadReport(sweepId) {
  const response = await call(key, "GET", `/audit/sweeps/${sweepId}/report.html`);
  download(`sweep-${sweepId}.html`, await response.text(), "text/html");
}

// ---- bundles ------------------------------------------------------------------------------------------------

async function downloadBundle(path, fallback) {
  const out = $("#export-result");
  try {
    const response = await call(key, "GET", path);
    const text = await response.text();
    const name = filenameOf(response, fallback);
    download(name, text);
    const left = response.headers.get("relief-unanchored-records");
    fill(
      out,
      verdict("ok", `✓ 已下載 Downloaded ${name}`),
      left && left !== "0"
        ? h("p", { className: "note" }, `${left} 條記錄尚未錨定 records not anchored yet, left out`)
        : null,
      h("p", { className: "note" }, "用 npm run verify 離線核驗 Verify it offline with npm run verify"),
    );
  } catch (e) {
    fill(out, verdict("bad", failureText(e)));
  }
}

function downloadCaseBundle(caseId) {
  $("#bundle-case").value = caseId;
  return downloadBundle(`/cases/${encodeURIComponent(caseId)}/bundle`, `case-${caseId.slice(0, 12)}.json`);
}

// ---- wiring -------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  setUpSignIn(["auditor"], async (inst) => {
    $("#trail-region").value = inst.region;
    $("#sweep-region").value = inst.region;
    await fillProgrammes([$("#trail-programme"), $("#sweep-programme")], "全部項目 All programmes");
    await fillProgrammes([$("#bundle-programme")]);
  });
  $("#record-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("#record-id").value.trim();
    if (id) verifyRecord(id);
  });
  $("#receipt-file").addEventListener("change", async () => {
    const file = $("#receipt-file").files?.[0];
    if (file) await verifyFile(file);
  });
  $("#receipt-text").addEventListener("paste", (event) => {
    const image = [...(event.clipboardData?.files ?? [])].find(isImage);
    if (!image) return; // text is pasted as usual
    event.preventDefault();
    verifyFile(image);
  });
  $("#receipt-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("#receipt-file").files?.[0];
    if ($("#receipt-text").value.trim()) verifyText($("#receipt-text").value);
    else if (file) await verifyFile(file);
    else fill($("#receipt-result"), verdict("bad", "請貼上或上傳收據 Paste or upload a receipt"));
  });
  setUpScanner();
  $("#trail-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showTrail(scopeOf(event.target));
  });
  $("#sweep-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runSweep(scopeOf(event.target));
  });
  $("#case-bundle-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const caseId = $("#bundle-case").value.trim();
    if (caseId) downloadCaseBundle(caseId);
  });
  $("#period-bundle-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const { programmeId, period } = scopeOf(event.target);
    downloadBundle(`/programmes/${programmeId}/periods/${period}/bundle`, `programme-${programmeId}-${period}.json`);
  });
});
