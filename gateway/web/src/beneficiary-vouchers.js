// The beneficiary's vouchers (我的救助券): each voucher with its kind, face value, remaining value, expiry, status and
// its redemptions (provider, amount, date); "出示" asks the gateway for a one-time code (valid 10 minutes) and shows it
// with its QR code, for the provider to type or scan. Only the holder's own vouchers are listed; no one else's data.
import QRCode from "qrcode";
import { getJson, postJson } from "./api.js";
import { $, details, fill, h } from "./dom.js";
import { when, yuan } from "./format.js";
import { STRINGS } from "./beneficiary-strings.js";

/** Voucher ids whose one-time code is shown, with what the gateway answered: kept across re-renders. */
const shownCodes = new Map();

/**
 * `ui`: the page's `t` (translate), `guarded` (runs an API call; a lost session goes back to sign-in) and `say`
 * (the status line), and the session credential.
 */
export function voucherView(ui) {
  const { t, guarded, say, session } = ui;
  let vouchers = [];

  const word = (prefix, value, fallback) => (STRINGS.zh[`${prefix}.${value}`] ? t(`${prefix}.${value}`) : fallback);
  const kindText = (v) => word("voucherKind", v.kind, t("voucherKind.other"));
  const cssId = (id) => String(id).replace(/[^A-Za-z0-9]/g, "");

  /** `quiet`: a failure says nothing (the page's status line keeps what it said) and returns false. */
  async function load({ quiet = false } = {}) {
    const get = () => getJson(session, "/beneficiary/vouchers");
    const body = quiet ? await get().catch(() => undefined) : await guarded(get);
    if (body) vouchers = body.vouchers;
    return body !== undefined;
  }

  async function present(v, box, button) {
    button.setAttribute("aria-disabled", "true");
    const got = await guarded(() =>
      postJson(session, `/beneficiary/vouchers/${encodeURIComponent(v.voucherId)}/presentations`),
    );
    button.removeAttribute("aria-disabled");
    if (!got) return;
    shownCodes.set(v.voucherId, got);
    await showCode(v, box, got);
    say("voucher.presented");
    box.querySelector(".present-code")?.focus();
  }

  /** The QR code's picture: the gateway's data URL if it sent one, else drawn here from its payload or the code. */
  async function qrSource(got) {
    if (typeof got.qr === "string" && got.qr.startsWith("data:image/")) return got.qr;
    const payload = typeof got.qr === "string" && got.qr ? got.qr : got.code;
    const svg = await QRCode.toString(payload, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
    return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  }

  async function showCode(v, box, got) {
    const expired = new Date(got.expiresAt).getTime() <= Date.now();
    const hide = h("button", { type: "button" }, t("voucher.hideCode"));
    hide.addEventListener("click", () => {
      shownCodes.delete(v.voucherId);
      fill(box);
      box.closest(".card")?.querySelector(".present")?.focus();
    });
    fill(
      box,
      h("h4", {}, t("voucher.code")),
      // The code in large digits, focusable so that focus lands on it when it appears and a screen reader reads it.
      h(
        "p",
        {
          className: "present-code",
          tabindex: -1,
          "aria-label": `${t("voucher.code")} ${got.code.split("").join(" ")}`,
        },
        // in groups of four, easier to read out and type; the provider's page drops the spaces
        got.code.replace(/(\d{4})(?=\d)/g, "$1 "),
      ),
      h("img", {
        className: "qr",
        src: await qrSource(got),
        alt: t("voucher.qrAlt", { code: got.code }),
        "data-payload": typeof got.qr === "string" && !got.qr.startsWith("data:") ? got.qr : got.code,
      }),
      h(
        "p",
        { className: expired ? "error" : "note" },
        expired ? t("voucher.codeExpired") : t("voucher.codeExpires", { time: when(got.expiresAt) }),
      ),
      h("p", { className: "note" }, t("voucher.codeHelp")),
      h("div", { className: "row" }, hide),
    );
  }

  function redemptions(v) {
    const list = v.redemptions ?? [];
    if (list.length === 0) return h("p", { className: "note" }, t("voucher.redemptions.none"));
    // A list, not a table: on a 360 px phone each use reads on its own lines and amounts never break.
    return h(
      "ul",
      { className: "redemptions" },
      list.map((r) =>
        h(
          "li",
          {},
          h("strong", { className: "nowrap" }, yuan(r.amount)),
          ` · ${r.provider?.name ?? t("voucher.provider")} · `,
          h("span", { className: "nowrap" }, when(r.redeemedAt)),
        ),
      ),
    );
  }

  function card(v) {
    const codeBox = h("div", { className: "code-box", "aria-live": "polite" });
    const li = h(
      "li",
      { className: `card voucher status-${v.status}`, id: `voucher-${cssId(v.voucherId)}` },
      h("h3", { tabindex: -1 }, t("voucher.heading", { kind: kindText(v) })),
      details([
        [t("voucher.remaining"), h("span", { className: "amount" }, yuan(v.remaining))],
        [t("voucher.faceValue"), yuan(v.faceValue)],
        [t("voucher.expires"), when(v.expiresAt)],
        [t("voucher.status"), h("span", { className: `badge ${v.status}` }, word("voucherStatus", v.status, v.status))],
        v.categories?.length > 0 && [t("voucher.where"), v.categories.map((c) => word("category", c, c)).join("、")],
      ]),
      h("h4", {}, t("voucher.redemptions")),
      redemptions(v),
    );
    if (v.status === "active") {
      const button = h("button", { type: "button", className: "primary big present" }, t("voucher.present"));
      button.addEventListener("click", () => {
        if (button.getAttribute("aria-disabled") !== "true") present(v, codeBox, button);
      });
      li.append(h("div", { className: "row actions" }, button), codeBox);
      const shown = shownCodes.get(v.voucherId);
      if (shown) showCode(v, codeBox, shown);
    } else {
      shownCodes.delete(v.voucherId);
    }
    return li;
  }

  function render() {
    const list = $("#voucher-list");
    if (vouchers.length === 0) fill(list, h("li", { className: "card" }, t("vouchers.none")));
    else fill(list, vouchers.map(card));
    fill($("#vouchers-count"), vouchers.length ? t("vouchers.count", { n: vouchers.length }) : "");
  }

  return {
    load,
    render,
    /** Forgets the codes shown (on sign-out). */
    clear() {
      shownCodes.clear();
      vouchers = [];
    },
  };
}
