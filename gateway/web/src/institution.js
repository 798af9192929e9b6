// Sign-in of an institution's page (auditors, finance bureaus): the API key is typed once, checked with GET /v1/me,
// kept in sessionStorage for the tab (never in a URL or a cookie), and forgotten on sign-out.
import { ApiFailure, Credential, getJson } from "./api.js";
import { $, fill, h } from "./dom.js";

export const institutionKey = new Credential("relief.institution.key");

export const ROLE_LABELS = {
  auditor: "審計 Auditor",
  finance: "財政 Finance bureau",
  approver: "審批 Approver",
  caseworker: "經辦 Caseworker",
  "payment-agent": "代發銀行 Payment agent",
  provider: "救助券機構 Voucher provider",
};

/** The error text of a failed call: the API's code, message and field. */
export function failureText(error) {
  if (error instanceof ApiFailure) return `${error.code}: ${error.message}`;
  return String(error?.message ?? error);
}

/**
 * Wires the page's sign-in form (#signin-form with #api-key) and sign-out button; calls `onSignedIn(institution)`
 * when a key of one of `roles` is in use.
 */
export function setUpSignIn(roles, onSignedIn) {
  const form = $("#signin-form");
  const error = $("#signin-error");
  const who = $("#who");

  const show = (signedIn) => {
    $("#signin").hidden = signedIn;
    $("#workspace").hidden = !signedIn;
    $("#signout").hidden = !signedIn;
  };

  // `focusWorkspace`: after typing the key, focus moves to the workspace as soon as it shows (the sign-in form it
  // replaces had the focus), not after the page's data has loaded.
  const check = async (focusWorkspace = false) => {
    try {
      const me = await getJson(institutionKey, "/me");
      const inst = me.institution;
      if (!inst || !roles.includes(inst.role)) {
        institutionKey.clear();
        throw new Error(`此頁面需要 This page needs: ${roles.map((r) => ROLE_LABELS[r] ?? r).join(", ")}`);
      }
      fill(who, `${inst.name} · ${ROLE_LABELS[inst.role] ?? inst.role} · ${inst.region}`);
      show(true);
      if (focusWorkspace) $("#workspace h2")?.focus();
      await onSignedIn(inst);
      return true;
    } catch (e) {
      show(false);
      fill(who);
      error.hidden = false;
      fill(error, failureText(e));
      $("#api-key").focus();
      return false;
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("#api-key").value.trim();
    if (!key) {
      error.hidden = false;
      fill(error, "請輸入 API 密鑰 Enter the API key");
      return;
    }
    institutionKey.set(key);
    form.reset();
    error.hidden = true;
    await check(true);
  });

  $("#signout").addEventListener("click", () => {
    institutionKey.clear();
    fill(who);
    show(false);
    $("#api-key").focus();
  });

  if (institutionKey.get()) check();
  else show(false);
}

/** A status line for a panel's outcome: `kind` is ok, bad or wait. */
export function verdict(kind, text) {
  return h("p", { className: `verdict ${kind}`, role: "status" }, text);
}
