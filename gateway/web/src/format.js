// Money and dates: amounts are integer fen (decimal strings from the API); they are shown as yuan and parsed back
// exactly, with BigInt, never through floating point.

/** "123456" fen → "¥1,234.56". */
export function yuan(fen) {
  let v;
  try {
    v = BigInt(fen);
  } catch {
    return String(fen);
  }
  const negative = v < 0n;
  if (negative) v = -v;
  const whole = (v / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = (v % 100n).toString().padStart(2, "0");
  return `${negative ? "−" : ""}¥${whole}.${cents}`;
}

/** "1,234.5" yuan → 123450 fen (a number), or null if it is not a positive amount with at most 2 decimals. */
export function parseYuan(text) {
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(
    String(text)
      .trim()
      .replace(/[,，\s]/g, ""),
  );
  if (!m) return null;
  const fen = BigInt(m[1]) * 100n + BigInt((m[2] ?? "").padEnd(2, "0"));
  if (fen <= 0n || fen > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(fen);
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
