// Words for vouchers (救助券) on the institution pages (provider, finance), and the code inside a scanned QR code.

export const VOUCHER_KIND_LABELS = {
  education: "教育救助券 Education",
  medical: "醫療救助券 Medical",
  "care-service": "照護服務券 Care service",
};

export const CATEGORY_LABELS = {
  school: "學校 School",
  hospital: "醫院 Hospital",
  "care-agency": "照護機構 Care agency",
  pharmacy: "藥房 Pharmacy",
};

export const REDEMPTION_STATUS_LABELS = {
  pending: "鏈上處理中 Being recorded on chain",
  redeemed: "已核銷，待財政支付 Redeemed, awaiting payment",
  paid: "財政已支付，待銀行入賬 Paid, awaiting the bank",
  settled: "已入賬 Settled",
};

/**
 * The one-time code in what was typed or scanned: the code itself, or the QR code's payload, which carries it after
 * a versioned prefix ("relief-voucher:1:<code>", gateway/src/vouchers/codes.ts). Spaces and dashes people type
 * between digits are dropped.
 */
export function codeOf(text) {
  const s = String(text ?? "").trim();
  const scanned = /^relief-voucher:\d+:(.+)$/.exec(s);
  return (scanned ? scanned[1] : s).replace(/[\s-]/g, "");
}
