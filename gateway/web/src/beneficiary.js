// The beneficiary's page (我的救助金): sign in with the resident ID and the notice's one-time code, see every
// payment, confirm receipt in one tap or report it missing, follow a dispute, show the receipt as a QR code and
// download the signed receipt bundle. The resident ID goes only in the sign-in POST body; the session token stays in
// sessionStorage.
import QRCode from "qrcode";
import { ApiFailure, Credential, call, getJson, postJson } from "./api.js";
import { $, details, download, fill, filenameOf, h } from "./dom.js";
import { when, yuan } from "./format.js";
import { STRINGS } from "./beneficiary-strings.js";
import { voucherView } from "./beneficiary-vouchers.js";

const session = new Credential("relief.beneficiary.session");
const LANG_KEY = "relief.beneficiary.lang";
let lang = sessionStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
let payments = [];
/** Payout ids whose QR code is shown. */
const shownQr = new Set();

function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** The dictionary key of an error's message. */
function errorKey(error) {
  const code = error instanceof ApiFailure ? error.code : "other";
  return STRINGS.zh[`error.${code}`] ? `error.${code}` : "error.other";
}

const errorText = (error) => t(errorKey(error));

/** The status line's message, kept as a key so that switching language translates it too. */
let status = null;

function say(key, vars = {}) {
  status = { key, vars };
  fill($("#status-line"), t(key, vars));
}

function applyStrings() {
  document.documentElement.lang = t("lang");
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  const toggle = $("#lang");
  toggle.textContent = t("switchTo");
  toggle.setAttribute("aria-label", t("switchLabel"));
  toggle.lang = lang === "zh" ? "en" : "zh-Hant";
  if (status) say(status.key, status.vars);
  if (!$("#payments").hidden) render();
  if (!$("#vouchers").hidden) vouchers.render();
}

function periodText(period) {
  const [year, month] = period.split("-");
  return t("periodValue", { year, month: String(Number(month)) });
}

/** The programme's name by its kind, or its number for a kind this page has no word for. */
function programmeText(p) {
  const key = `kind.${p.programmeKind}`;
  return STRINGS.zh[key] ? t(key) : t("programme.other", { id: p.programmeId });
}

function showSignIn(message) {
  $("#payments").hidden = true;
  $("#vouchers").hidden = true;
  $("#signin").hidden = false;
  const error = $("#signin-error");
  error.hidden = !message;
  fill(error, message ?? "");
  $("#resident-id").focus();
}

async function signIn(event) {
  event.preventDefault();
  const residentId = $("#resident-id").value.trim().toUpperCase();
  const code = $("#code").value.trim();
  const error = $("#signin-error");
  if (!residentId || !/^\d{8}$/.test(code)) {
    error.hidden = false;
    fill(error, t("signin.missing"));
    return;
  }
  const button = $("#signin-form button[type=submit]");
  button.disabled = true;
  button.textContent = t("signin.busy");
  try {
    const { token } = await postJson(null, "/beneficiary/sessions", { residentId, code });
    session.set(token);
    $("#signin-form").reset();
    error.hidden = true;
    await showPayments();
  } catch (e) {
    error.hidden = false;
    fill(error, errorText(e));
  } finally {
    button.disabled = false;
    button.textContent = t("signin.submit");
  }
}

async function signOut() {
  try {
    await call(session, "DELETE", "/beneficiary/sessions/current");
  } catch {
    // the session may have expired already; it is forgotten either way
  }
  session.clear();
  shownQr.clear();
  vouchers.clear();
  showSignIn();
}

/** Runs an API action; a lost session goes back to sign-in. */
async function guarded(action) {
  try {
    return await action();
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) {
      session.clear();
      showSignIn(errorText(e));
      return undefined;
    }
    say(errorKey(e));
    return undefined;
  }
}

async function load() {
  const body = await guarded(() => getJson(session, "/beneficiary/payments"));
  if (body) payments = body.payments;
  return body !== undefined;
}

async function showPayments() {
  $("#signin").hidden = true;
  $("#payments").hidden = false;
  say("payments.loading");
  if (await load()) {
    render();
    say("payments.count", { n: payments.length });
    $("#payments-h").focus();
    // Then the vouchers; a ledger without vouchers (or a failure) leaves the payments shown and the section hidden.
    if (await vouchers.load({ quiet: true })) {
      vouchers.render();
      $("#vouchers").hidden = false;
    }
  }
}

async function refreshAfter(payoutId, messageKey) {
  if (await load()) {
    render();
    say(messageKey);
    document
      .getElementById(`card-${cssId(payoutId)}`)
      ?.querySelector("h3")
      ?.focus();
  }
}

const cssId = (payoutId) => payoutId.replace(/[^A-Za-z0-9]/g, "");

async function confirmReceipt(p, button) {
  button.disabled = true;
  const ok = await guarded(() => postJson(session, `/beneficiary/payments/${encodeURIComponent(p.payoutId)}/confirm`));
  button.disabled = false;
  if (ok) await refreshAfter(p.payoutId, "confirm.done");
}

async function reportMissing(p, form) {
  const reason = form.querySelector("textarea").value.trim();
  const error = form.querySelector(".error");
  if (!reason) {
    error.hidden = false;
    fill(error, t("notReceived.missing"));
    form.querySelector("textarea").focus();
    return;
  }
  const ok = await guarded(() =>
    postJson(session, `/beneficiary/payments/${encodeURIComponent(p.payoutId)}/not-received`, { reason }),
  );
  if (ok) await refreshAfter(p.payoutId, "notReceived.done");
}

async function fetchBundle(p) {
  return guarded(async () => {
    const response = await call(session, "GET", `/beneficiary/payments/${encodeURIComponent(p.payoutId)}/receipt`);
    const text = await response.text();
    return {
      text,
      bundle: JSON.parse(text),
      anchored: response.headers.get("x-receipt-anchored") === "true",
      filename: filenameOf(response, "receipt.json"),
    };
  });
}

async function toggleQr(p, box, button) {
  if (shownQr.has(p.payoutId)) {
    shownQr.delete(p.payoutId);
    fill(box);
    button.textContent = t("receipt.show");
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const got = await fetchBundle(p);
  if (!got) return;
  // The QR code carries the signed receipt (canonical JSON and SM2 signature): enough to check the signature and to
  // look the receipt up; the downloaded bundle adds the key and the inclusion proof.
  const svg = await QRCode.toString(JSON.stringify(got.bundle.receipt), {
    type: "svg",
    errorCorrectionLevel: "L",
    margin: 2,
  });
  shownQr.add(p.payoutId);
  button.textContent = t("receipt.hide");
  button.setAttribute("aria-expanded", "true");
  fill(
    box,
    h("img", {
      className: "qr",
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`,
      alt: t("receipt.qrAlt", {
        programme: programmeText(p),
        period: periodText(p.period),
        amount: yuan(p.amount),
      }),
      "data-payload": JSON.stringify(got.bundle.receipt),
    }),
    h("p", { className: "note" }, got.anchored ? t("receipt.anchored") : t("receipt.notAnchored")),
  );
}

async function downloadReceipt(p) {
  const got = await fetchBundle(p);
  if (!got) return;
  download(got.filename, got.text);
  say(got.anchored ? "receipt.anchored" : "receipt.notAnchored");
}

function notReceivedForm(p, actions) {
  const id = `reason-${cssId(p.payoutId)}`;
  const form = h(
    "form",
    { className: "reason", novalidate: true },
    h("label", { for: id }, t("notReceived.reason")),
    h("textarea", { id, name: "reason", maxlength: 200, rows: 3, required: true }),
    h("p", { className: "error", role: "alert", hidden: true }),
    h(
      "div",
      { className: "row" },
      h("button", { type: "submit", className: "primary" }, t("notReceived.send")),
      h(
        "button",
        {
          type: "button",
          onclick: () => {
            form.remove();
            actions.hidden = false;
            actions.querySelector("button")?.focus();
          },
        },
        t("notReceived.cancel"),
      ),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    reportMissing(p, form);
  });
  return form;
}

function disputeProgress(d) {
  const steps = [
    h("li", { className: "done" }, `${t("dispute.opened")}: ${when(d.openedAt)}`),
    h(
      "li",
      { className: d.status === "open" ? "current" : "done" },
      `${t(d.status === "open" ? "dispute.open" : "dispute.resolved")} · ${t("dispute.deadline")}: ${when(d.responseDeadline)}`,
    ),
  ];
  if (d.status === "resolved" && d.outcome) {
    steps.push(h("li", { className: "done" }, t(`dispute.outcome.${d.outcome}`)));
  }
  return h(
    "section",
    { className: "dispute" },
    h("h4", {}, t("dispute.title")),
    h("ol", { className: "steps" }, steps),
  );
}

function card(p) {
  const hasReceipt = p.receipt !== null;
  const canAnswer = !hasReceipt && (p.status === "paid" || p.status === "settled");
  const qrBox = h("div", { className: "qr-box", "aria-live": "polite" });
  const li = h(
    "li",
    { className: `card status-${p.status}`, id: `card-${cssId(p.payoutId)}` },
    h("h3", { tabindex: -1 }, `${programmeText(p)} · ${periodText(p.period)}`),
    details([
      [t("amount"), h("span", { className: "amount" }, yuan(p.amount))],
      [t("status"), h("span", { className: `badge ${p.status}` }, t(`status.${p.status}`))],
      hasReceipt && p.receipt.outcome === "confirmed" && [t("receipt.at"), when(p.receipt.at)],
    ]),
  );
  if (canAnswer) {
    const actions = h("div", { className: "row actions" });
    const confirmButton = h("button", { type: "button", className: "primary big" }, t("confirm"));
    confirmButton.addEventListener("click", () => confirmReceipt(p, confirmButton));
    const missingButton = h("button", { type: "button", className: "big" }, t("notReceived"));
    missingButton.addEventListener("click", () => {
      actions.hidden = true;
      const form = notReceivedForm(p, actions);
      li.append(form);
      form.querySelector("textarea").focus();
    });
    actions.append(confirmButton, missingButton);
    li.append(actions);
  }
  if (p.dispute) li.append(disputeProgress(p.dispute));
  if (hasReceipt) {
    const qrButton = h("button", { type: "button", "aria-expanded": "false" }, t("receipt.show"));
    qrButton.addEventListener("click", () => toggleQr(p, qrBox, qrButton));
    li.append(
      h(
        "section",
        { className: "receipt" },
        h("h4", {}, t("receipt.title")),
        h(
          "div",
          { className: "row" },
          qrButton,
          h("button", { type: "button", onclick: () => downloadReceipt(p) }, t("receipt.download")),
        ),
        qrBox,
      ),
    );
    if (shownQr.has(p.payoutId)) {
      shownQr.delete(p.payoutId);
      toggleQr(p, qrBox, qrButton);
    }
  }
  return li;
}

/** The voucher view (beneficiary-vouchers.js), sharing this page's strings, session and error handling. */
const vouchers = voucherView({ t, guarded, say, session });

function render() {
  const list = $("#payment-list");
  if (payments.length === 0) fill(list, h("li", { className: "card" }, t("payments.none")));
  else fill(list, payments.map(card));
}

document.addEventListener("DOMContentLoaded", () => {
  $("#lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    sessionStorage.setItem(LANG_KEY, lang);
    applyStrings();
  });
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", signOut);
  $("#vouchers-refresh").addEventListener("click", async () => {
    if (await vouchers.load()) {
      vouchers.render();
      say("vouchers.refreshed");
    }
  });
  applyStrings();
  if (session.get()) showPayments();
  else showSignIn();
});
