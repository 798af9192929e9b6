// Money, regions and dates. Money (integer fen shown as yuan, parsed back exactly) and region levels are lib/'s,
// shared with the gateway's printable reports; esbuild bundles them in.
import { LEVEL_NAMES, levelOf } from "../../../lib/regions";

export { parseYuan, yuan } from "../../../lib/money";

/** A region code's level, as "縣 County" (lib/regions.ts decides the level). */
export function levelName(region) {
  try {
    return LEVEL_NAMES[levelOf(BigInt(region))];
  } catch {
    return String(region);
  }
}

/** An ISO time as a local date and time, in the page's language. */
export function when(iso, lang = document.documentElement.lang) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(lang.startsWith("zh") ? "zh-CN" : "en-GB", {
    timeZone: "Asia/Shanghai",
    dateStyle: "medium",
    timeStyle: "short",
  });
}

/** "0x1234…cdef" for long hex ids, kept whole in the title. */
export function short(hex, keep = 10) {
  const s = String(hex);
  return s.length > keep * 2 + 1 ? `${s.slice(0, keep)}…${s.slice(-keep + 2)}` : s;
}
