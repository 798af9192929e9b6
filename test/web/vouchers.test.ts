/**
 * A voucher's life in the browser (headless Chromium, the real gateway, anvil and SQLite): an education voucher of
 * 3,000 yuan is issued to an approved case; the beneficiary (keyboard only, 360 px) sees it and presents it, getting a
 * one-time code and its QR code with its 10-minute expiry; a school (keyboard only) types the code, sees the voucher
 * and redeems 1,200 yuan against an invoice; the same code is refused when reused, and a hospital is refused a voucher
 * that is not for hospitals, both as a focused verdict; the school then scans a second code's QR code with a fake
 * camera (a video of the code the beneficiary's page showed) and redeems 500 yuan; the beneficiary sees 1,300 yuan
 * remaining and both redemptions; the county finance bureau (keyboard only) pays the providers and, once the bank has
 * settled, sees the settlement. Screenshots go to test-artifacts/web/.
 */
import { expect } from "chai";
import path from "node:path";
import type { Page } from "playwright-core";
import { WEB_CSP, permissionsPolicy } from "../../gateway/src/web/routes";
import { LOCAL_REGIONS } from "../../gateway/src/seed/local";
import { approveCase, passNotice } from "../gateway/api/fixtures";
import { digest, fundPool, residentId, submittedCase, type TestCase } from "../gateway/beneficiary/fixtures";
import { type Browser, ARTIFACTS, CHROMIUM, hasChromium, launchChromium, screenshot } from "./browser";
import { fakeCameraArgs, writeQrVideo } from "./camera";
import { explainFailure, recordApiCalls } from "./diagnostics";
import { type WebGateway, startWebGateway } from "./gateway";
import { activeId, expectAllLabelled, expectVisibleFocus, keyTo, scrollWidth } from "./pages";

const PHONE = { width: 360, height: 780 };
const FACE_VALUE = 300_000n; // 3,000 yuan
const COUNTY = String(LOCAL_REGIONS.county);

describe("web pages in headless Chromium: a voucher from issue to the provider's settlement", function () {
  this.timeout(120_000);
  let t: WebGateway;
  let browser: Browser;
  let carol: TestCase;
  let programmeId = 0;
  const providerKeys = { school: "", hospital: "" };
  /** Every URL the browser asked for. */
  const requested: string[] = [];
  /** The one-time codes the beneficiary's page showed, and the QR payload of the second. */
  let firstCode = "";

  before(async function () {
    if (!hasChromium()) {
      console.log(`    (browser tests skipped: ${CHROMIUM} is missing; install Debian's chromium)`);
      this.skip();
    }
    t = await startWebGateway();
    browser = await launchChromium();
    browser.context.on("request", (r) => requested.push(r.url()));

    // Two providers in the county: a school (may redeem education vouchers) and a hospital (may not).
    for (const [category, name] of [
      ["school", "朝陽實驗小學 (test)"],
      ["hospital", "朝陽醫院 (test)"],
    ] as const) {
      const res = await t.http
        .post("/v1/admin/institutions")
        .set("Authorization", t.auth("admin"))
        .send({ id: `county-${category}`, name, role: "provider", region: COUNTY, category });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      providerKeys[category] = res.body.apiKey;
    }
    // An education-voucher programme of the county (up to 3,000 yuan a case, schools only, valid a year).
    const programme = await t.http
      .post("/v1/programmes")
      .set("Authorization", t.auth("county-approver"))
      .send({
        kind: "voucher",
        region: COUNTY,
        amount: Number(FACE_VALUE),
        ruleVersion: digest("education-voucher-2026"),
        voucher: { kind: "education", categories: ["school"], validityDays: 365 },
      });
    expect(programme.status, JSON.stringify(programme.body)).to.equal(201);
    programmeId = programme.body.programmeId;
    // One household approved for the whole cap, the pool funded, the voucher issued.
    carol = await submittedCase(t, residentId(61), programmeId);
    await passNotice(t);
    await approveCase(t, carol.caseId, programmeId, { amount: FACE_VALUE });
    await fundPool(t, programmeId, FACE_VALUE);
    const issued = await t.http
      .post("/v1/vouchers/issues")
      .set("Authorization", t.auth("county-finance"))
      .set("Idempotency-Key", "web-voucher-issue-1")
      .send({ programmeId });
    expect(issued.status, JSON.stringify(issued.body)).to.be.oneOf([200, 201]);
    const voucher = await t.http.get(`/v1/vouchers/${carol.caseId}`).set("Authorization", t.auth("county-auditor"));
    expect(voucher.status, JSON.stringify(voucher.body)).to.equal(200);
  });

  after(async function () {
    await browser?.close();
    await t?.close();
  });

  const open = async (page: Page, path: string) => {
    const response = await page.goto(`${t.url}${path}`);
    expect(response?.status()).to.equal(200);
    expect(response?.headers()["content-security-policy"]).to.equal(WEB_CSP);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) errors.push(m.text());
    });
    return errors;
  };

  /** The beneficiary's page, signed in (keyboard only) with a fresh notice code. */
  const beneficiaryPage = async () => {
    const notice = await t.http
      .post(`/v1/cases/${carol.caseId}/notice-code`)
      .set("Authorization", t.auth("township-caseworker"));
    expect(notice.status).to.equal(201);
    const page = await browser.newPage(PHONE);
    const errors = await open(page, "/web/beneficiary");
    await keyTo(page, "#resident-id");
    await page.keyboard.type(carol.residentId);
    await page.keyboard.press("Tab");
    await page.keyboard.type(notice.body.code);
    await page.keyboard.press("Enter");
    await page.locator(".card.voucher").waitFor();
    return { page, errors };
  };

  /** Presents the voucher from the page (keyboard only): the code shown, focused. */
  const present = async (page: Page) => {
    await keyTo(page, ".card.voucher button.present");
    await page.keyboard.press("Enter");
    await page.locator(".card.voucher .present-code:focus").waitFor();
    await expectVisibleFocus(page);
    return (await page.locator(".card.voucher .present-code").innerText()).replace(/\s/g, "");
  };

  const signInProvider = async (page: Page, apiKey: string) => {
    await keyTo(page, "#api-key");
    await page.keyboard.type(apiKey);
    await page.keyboard.press("Enter");
    await page.locator("#workspace").waitFor({ state: "visible" });
    expect(await activeId(page)).to.equal("accept-h");
  };

  /** Types a code into the provider's page and looks it up (keyboard only); focus lands on the verdict. */
  const lookUp = async (page: Page, code: string, { back = false } = {}) => {
    await keyTo(page, "#voucher-code", { back });
    await page.keyboard.press("Control+A");
    await page.keyboard.type(code);
    await page.keyboard.press("Enter");
    await page.locator("#lookup-result .verdict:focus").waitFor();
    await expectVisibleFocus(page);
    return page.locator("#lookup-result").innerText();
  };

  it("index: links the provider's page", async function () {
    const page = await browser.newPage();
    const errors = await open(page, "/web/");
    expect(await page.locator('a[href="/web/provider"]').innerText()).to.include("救助券核銷");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("beneficiary (keyboard only, 360 px): sees the voucher and presents it: a one-time code, its QR code and expiry", async function () {
    const { page, errors } = await beneficiaryPage();
    await expectAllLabelled(page);
    const card = await page.locator(".card.voucher").innerText();
    expect(card).to.include("教育救助券");
    expect(card).to.include("¥3,000.00"); // face value and remaining
    expect(card).to.include("可以使用");
    expect(card).to.include("還沒有使用過");
    expect(await scrollWidth(page)).to.be.at.most(PHONE.width);

    firstCode = await present(page);
    expect(firstCode).to.match(/^\d{12}$/);
    const qr = page.locator(".card.voucher img.qr");
    expect((await qr.getAttribute("src"))!.startsWith("data:image/")).to.equal(true);
    expect(await qr.getAttribute("alt")).to.include(firstCode);
    const box = await page.locator(".card.voucher .code-box").innerText();
    expect(box).to.match(/前有效（10分鐘）/);
    expect(await page.locator("#status-line").innerText()).to.include("10分鐘內有效");
    await screenshot(page, "beneficiary-voucher-presented");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("school (keyboard only): types the code, sees the voucher, redeems 1,200 yuan and lists the redemption; the reused code is refused", async function () {
    const page = await browser.newPage();
    const errors = await open(page, "/web/provider");
    const calls = recordApiCalls(page);
    await signInProvider(page, providerKeys.school);
    await expectAllLabelled(page);

    const lookup = await lookUp(page, firstCode);
    expect(lookup).to.include("✓ 可在本機構核銷");
    expect(lookup).to.include("¥3,000.00");
    expect(lookup).to.include("教育救助券");
    expect(lookup).to.not.include(carol.residentId);
    // Tab from the verdict goes on to the redemption form.
    await keyTo(page, "#redeem-amount");
    await page.keyboard.type("1,200");
    await page.keyboard.press("Tab");
    expect(await activeId(page)).to.equal("redeem-invoice");
    await page.keyboard.type("INV-2026-0001");
    await page.keyboard.press("Enter");
    await explainFailure("the redemption's outcome", { t, page, selector: "#redeem-result", calls }, () =>
      page.locator("#redeem-result .verdict.ok:focus").waitFor(),
    );
    await expectVisibleFocus(page);
    const outcome = await page.locator("#redeem-result").innerText();
    expect(outcome).to.include("¥1,200.00");
    expect(outcome).to.include("¥1,800.00");
    await page.locator("#redemptions-result table", { hasText: "¥1,200.00" }).waitFor();
    await screenshot(page, "provider-redeemed");

    // The same code again: refused, the refusal focused and announced (role=status), nothing to redeem.
    // Shift+Tab from the outcome back up to the code field.
    const reused = await lookUp(page, firstCode, { back: true });
    expect(reused).to.include("✗ 此出示碼已用過");
    expect(reused).to.include("CODE_USED");
    expect(await page.locator("#lookup-result .verdict").getAttribute("role")).to.equal("status");
    expect(await page.locator("#redeem").isHidden()).to.equal(true);
    await screenshot(page, "provider-code-reused", "#accept");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("hospital: a voucher for schools is refused (wrong category), with the reason focused", async function () {
    const { page: phone } = await beneficiaryPage();
    const code = await present(phone);
    await phone.close();
    const page = await browser.newPage();
    const errors = await open(page, "/web/provider");
    await signInProvider(page, providerKeys.hospital);
    const text = await lookUp(page, code);
    expect(text).to.include("✗ 不可在本機構核銷");
    expect(text).to.include("本機構類別不在此券可用範圍");
    expect(await page.locator("#redeem").isHidden()).to.equal(true);
    await screenshot(page, "provider-wrong-category", "#accept");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("school (keyboard only, a camera): scans the QR code the beneficiary's page shows and redeems 500 yuan", async function () {
    const { page: phone } = await beneficiaryPage();
    await present(phone);
    const payload = (await phone.locator(".card.voucher img.qr").getAttribute("data-payload"))!;
    await phone.close();
    const video = path.join(ARTIFACTS, "voucher-qr-camera.y4m");
    writeQrVideo(video, payload);
    const camera = await launchChromium(fakeCameraArgs(video));
    try {
      await camera.context.grantPermissions(["camera"], { origin: t.url });
      const page = await camera.newPage();
      const response = await page.goto(`${t.url}/web/provider`);
      expect(response?.headers()["permissions-policy"]).to.equal(permissionsPolicy("/provider"));
      expect(permissionsPolicy("/provider")).to.include("camera=(self)");
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await signInProvider(page, providerKeys.school);
      await keyTo(page, "#scan-start");
      await page.keyboard.press("Enter");
      await page.locator("#lookup-result .verdict:focus").waitFor();
      await expectVisibleFocus(page);
      expect(await page.locator("#scan-status").innerText()).to.include("QR code read from the camera");
      expect(await page.locator("#scanner").isHidden()).to.equal(true);
      const lookup = await page.locator("#lookup-result").innerText();
      expect(lookup).to.include("✓ 可在本機構核銷");
      expect(lookup).to.include("¥1,800.00");
      await keyTo(page, "#redeem-amount");
      await page.keyboard.type("500");
      await page.keyboard.press("Tab");
      await page.keyboard.type("INV-2026-0002");
      await page.keyboard.press("Enter");
      await page.locator("#redeem-result .verdict.ok:focus").waitFor();
      expect(await page.locator("#redeem-result").innerText()).to.include("¥1,300.00");
      await screenshot(page, "provider-redeemed-from-camera");
      expect(errors).to.deep.equal([]);
    } finally {
      await camera.close();
    }
  });

  it("beneficiary: sees the remaining value and both redemptions with the provider's name", async function () {
    const { page, errors } = await beneficiaryPage();
    const card = await page.locator(".card.voucher").innerText();
    expect(card).to.include("¥1,300.00");
    expect(card).to.include("¥1,200.00");
    expect(card).to.include("¥500.00");
    expect(card).to.include("朝陽實驗小學 (test)");
    expect(await scrollWidth(page)).to.be.at.most(PHONE.width);
    await screenshot(page, "beneficiary-voucher-redeemed");
    // In English too, from the same page.
    await keyTo(page, "#lang", { back: true });
    await page.keyboard.press("Enter");
    const english = await page.locator(".card.voucher").innerText();
    expect(english).to.include("Education voucher");
    expect(english).to.match(/Remaining\s+¥1,300.00/);
    expect(english).to.include("Can be used");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("finance (keyboard only): pays the providers for the redeemed 1,700 yuan; the bank's settlement shows", async function () {
    const page = await browser.newPage();
    const errors = await open(page, "/web/finance");
    const calls = recordApiCalls(page);
    await keyTo(page, "#api-key");
    await page.keyboard.type(t.key("county-finance"));
    await page.keyboard.press("Enter");
    await page.locator("#vouchers").waitFor({ state: "visible" });
    await page.locator("#voucher-totals .settlement").waitFor();
    await expectAllLabelled(page);
    const before = await page.locator("#voucher-totals").innerText();
    expect(before).to.match(/已發券 Issued\s+¥3,000.00/);
    expect(before).to.match(/已核銷 Redeemed\s+¥1,700.00/);
    expect(before).to.match(/未使用 Outstanding\s+¥1,300.00/);

    await keyTo(page, "#voucher-pay");
    await page.keyboard.press("Enter");
    await explainFailure("the payment's outcome", { t, page, selector: "#vouchers", calls }, () =>
      page.locator("#voucher-result .verdict.ok:focus").waitFor(),
    );
    await expectVisibleFocus(page);
    expect(await page.locator("#voucher-result").innerText()).to.include("¥1,700.00");
    expect(await page.locator("#voucher-totals").innerText()).to.match(/已付機構 Paid to providers\s+¥1,700.00/);

    // The bank settles both redemptions; the page's settlement status follows on refresh.
    const paid = await t.http.get(`/v1/voucher-redemptions?status=paid`).set("Authorization", t.auth("county-bank"));
    expect(paid.status, JSON.stringify(paid.body)).to.equal(200);
    const redemptions = paid.body.redemptions.map((r: { voucherId: string; index: number }) => ({
      voucherId: r.voucherId,
      index: r.index,
    }));
    expect(redemptions).to.have.length(2);
    const settled = await t.http
      .post("/v1/voucher-redemptions/settlements")
      .set("Authorization", t.auth("county-bank"))
      .set("Idempotency-Key", "web-voucher-settle-1")
      .send({ bankReference: "ICBC-VOUCHER-1", redemptions });
    expect(settled.status, JSON.stringify(settled.body)).to.be.oneOf([200, 201]);
    await keyTo(page, "#voucher-totals button");
    await page.keyboard.press("Enter");
    await page.locator("#voucher-totals .verdict.ok", { hasText: "All settled" }).waitFor();
    await screenshot(page, "finance-vouchers-settled", "#vouchers");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("keeps personal data out of every URL the browser requested", function () {
    expect(requested.length).to.be.greaterThan(10);
    for (const url of requested) expect(url).to.not.include(carol.residentId);
  });
});
