// SVG charts of the fund trail, built as DOM nodes (no markup strings): the flow from appropriation down to payouts
// as linked bars (a Sankey-like picture, as in the sweep's printable report) and payouts per month as stacked bars.
import { yuan } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#1f5fa8", "#c0504d", "#4f8a3c", "#8064a2", "#d98c1f", "#2c9aa0", "#7f7f7f", "#a05a2c"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : String(c));
  return el;
}

const big = (v) => {
  try {
    return BigInt(v);
  } catch {
    return 0n;
  }
};

/**
 * stages: [{ label, amount (fen string), count?, color? }] from the top of the hierarchy to the payouts; `links` draws
 * the bands between consecutive bars (off for a plain bar chart of balances).
 */
export function flowChart(stages, title, { links = true } = {}) {
  const width = 860;
  const labelWidth = 300;
  const barMax = width - labelWidth - 170;
  const row = 36;
  const bar = 22;
  const values = stages.map((x) => big(x.amount));
  const max = values.reduce((m, v) => (v > m ? v : m), 0n);
  const w = (v) => (max === 0n || v <= 0n ? 0 : Math.max(1, Number((v * BigInt(barMax * 1000)) / max) / 1000));
  const height = stages.length * row + 10;
  const svg = s("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": title,
  });
  svg.append(s("title", {}, title));
  stages.forEach((stage, i) => {
    const y = 5 + i * row;
    const bw = w(values[i]);
    const color = stage.color ?? PALETTE[0];
    if (links && i > 0) {
      const pw = w(values[i - 1]);
      const py = y - row + bar;
      svg.append(
        s("polygon", {
          points: `${labelWidth},${py} ${labelWidth + pw},${py} ${labelWidth + bw},${y} ${labelWidth},${y}`,
          fill: color,
          "fill-opacity": 0.18,
        }),
      );
    }
    svg.append(
      s("text", { x: labelWidth - 8, y: y + 16, "text-anchor": "end", class: "lbl" }, stage.label),
      s("rect", { x: labelWidth, y, width: bw.toFixed(2), height: bar, fill: color, rx: 2 }),
      s(
        "text",
        { x: labelWidth + bw + 6, y: y + 16, class: "val" },
        stage.count === undefined ? yuan(stage.amount) : `${yuan(stage.amount)} (${stage.count})`,
      ),
    );
  });
  return svg;
}

/** rows: [{ period, programmeId, amount }]; one stacked bar per period, one colour per programme. */
export function monthlyBars(rows, title) {
  const periods = [...new Set(rows.map((r) => r.period))].sort();
  const programmes = [...new Set(rows.map((r) => r.programmeId))].sort((a, b) => a - b);
  const byPeriod = new Map();
  for (const r of rows) {
    const m = byPeriod.get(r.period) ?? new Map();
    m.set(r.programmeId, (m.get(r.programmeId) ?? 0n) + big(r.amount));
    byPeriod.set(r.period, m);
  }
  const totals = periods.map((p) => [...byPeriod.get(p).values()].reduce((a, v) => a + v, 0n));
  const max = totals.reduce((m, v) => (v > m ? v : m), 0n);
  const chartHeight = 180;
  const slot = Math.max(60, Math.min(110, Math.floor(700 / Math.max(1, periods.length))));
  const left = 10;
  const width = Math.max(400, left + slot * periods.length + 10);
  const hgt = (v) => (max === 0n ? 0 : Number((v * BigInt(chartHeight * 1000)) / max) / 1000);
  const svg = s("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${chartHeight + 50}`,
    width,
    height: chartHeight + 50,
    role: "img",
    "aria-label": title,
  });
  svg.append(s("title", {}, title));
  svg.append(s("line", { x1: left, y1: 10 + chartHeight, x2: width - 10, y2: 10 + chartHeight, stroke: "#555" }));
  periods.forEach((p, i) => {
    const x = left + i * slot + 6;
    let y = 10 + chartHeight;
    programmes.forEach((id, k) => {
      const v = byPeriod.get(p).get(id) ?? 0n;
      if (v <= 0n) return;
      const bh = hgt(v);
      y -= bh;
      svg.append(
        s(
          "rect",
          { x, y: y.toFixed(2), width: slot - 12, height: bh.toFixed(2), fill: PALETTE[k % PALETTE.length] },
          s("title", {}, `${p} · 項目 ${id}: ${yuan(v)}`),
        ),
      );
    });
    const cx = x + (slot - 12) / 2;
    svg.append(
      s("text", { x: cx, y: chartHeight + 30, "text-anchor": "middle", class: "lbl" }, p),
      s("text", { x: cx, y: Math.max(12, y - 4).toFixed(2), "text-anchor": "middle", class: "val" }, yuan(totals[i])),
    );
  });
  return { svg, programmes };
}

/** A legend entry: a colour swatch (a tiny SVG, so no inline style is needed under the CSP) and its text. */
export function swatch(color, text) {
  const span = document.createElement("span");
  const box = s(
    "svg",
    { class: "swatch", viewBox: "0 0 10 10", "aria-hidden": "true" },
    s("rect", { width: 10, height: 10, fill: color }),
  );
  span.append(box, text);
  return span;
}
