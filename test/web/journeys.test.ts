/**
 * The web pages in a real headless Chromium (Debian's, driven by playwright-core) against the real gateway, anvil
 * chain and SQLite with the seeded consortium: the finance bureau allocates, funds and starts a payout run through its
 * confirmation dialog (keyboard only); the beneficiaries sign in with their notice codes (keyboard only, on a 360 px
 * screen), confirm receipt, show the QR code, download and verify the receipt bundle, report a payment missing and
 * follow the dispute; the auditor verifies receipts (pasted, uploaded, the QR code read from a PNG, JPEG or SVG
 * picture, uploaded or pasted, and scanned with a fake camera playing a video of it) and sees the fund trail, and,
 * keyboard only, verifies a record, runs a sweep, follows its evidence and exports a case bundle. Screenshots go to
 * test-artifacts/web/.
 *
 * Without /usr/bin/chromium the suite says so and skips (.ci/run installs Debian's `chromium`).
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { verifyDocument } from "../../gateway/src/audit/verifier";
import { verifyReceiptBundle } from "../../gateway/src/receipts/bundle";
import QRCode from "qrcode";
import { WEB_CSP, permissionsPolicy } from "../../gateway/src/web/routes";
import { LOCAL_REGIONS } from "../../gateway/src/seed/local";
import { GATEWAY_ACTORS } from "../../gateway/src/context";
import {
  approveCases,
  digest,
  residentId,
  submittedCase,
  TEKUN,
  TEKUN_AMOUNT,
  type TestCase,
} from "../gateway/beneficiary/fixtures";
import { type Browser, ARTIFACTS, CHROMIUM, hasChromium, launchChromium, screenshot } from "./browser";
import { fakeCameraArgs, writeBlankVideo, writeQrVideo } from "./camera";
import { explainFailure, recordApiCalls } from "./diagnostics";
import { type WebGateway, startWebGateway } from "./gateway";
import {
  activeId,
  chooseOption,
  clickWithinOneFrame,
  documentLang,
  expectAllLabelled,
  expectVisibleFocus,
  focused,
  keyTo,
  pasteImage,
  scrollWidth,
  sessionValue,
  tabTo,
  videoPlaying,
} from "./pages";

const PHONE = { width: 360, height: 780 };

describe("web pages in headless Chromium: finance, beneficiary and auditor journeys", function () {
  this.timeout(120_000);
  let t: WebGateway;
  let browser: Browser;
  let alice: TestCase;
  let bob: TestCase;
  /** Every URL the browser asked for. */
  const requested: string[] = [];
  let aliceBundleText = "";
  /** The text of the receipt QR code the beneficiary's page shows, and the pictures of it saved by that test. */
  let qrPayloadText = "";
  const qrPicture = (ext: "png" | "jpeg" | "svg") => path.join(ARTIFACTS, `beneficiary-receipt-qr.${ext}`);
  let alicePayoutId = "";
  let bobPayoutId = "";

  before(async function () {
    if (!hasChromium()) {
      console.log(
        `    (browser tests skipped: ${CHROMIUM} is missing; install Debian's chromium: apt-get install -y chromium)`,
      );
      this.skip();
    }
    t = await startWebGateway();
    browser = await launchChromium();
    browser.context.on("request", (r) => requested.push(r.url()));
    // Two households of 特困 (a fixed 800 yuan a month) in the township, approved after the notice period.
    alice = await submittedCase(t, residentId(41));
    bob = await submittedCase(t, residentId(42));
    await approveCases(t, [alice, bob]);
    // Central appropriates and allocates down to the city; the city bureau takes it on from the web page.
    const ledger = t.gateway.ctx.ledger;
    const amount = TEKUN_AMOUNT * 5n;
    await ledger.appropriate("central-finance", amount, digest("web-budget"));
    await ledger.allocate("central-finance", {
      fromRegion: LOCAL_REGIONS.central,
      toRegion: LOCAL_REGIONS.province,
      amount,
      referenceDigest: digest("web-budget"),
    });
    await ledger.allocate("province-finance", {
      fromRegion: LOCAL_REGIONS.province,
      toRegion: LOCAL_REGIONS.city,
      amount,
      referenceDigest: digest("web-budget"),
    });
  });

  after(async function () {
    await browser?.close();
    await t?.close();
  });

  const open = async (path: string, viewport?: { width: number; height: number }) => {
    const page = await browser.newPage(viewport);
    const response = await page.goto(`${t.url}${path}`);
    expect(response?.status()).to.equal(200);
    expect(response?.headers()["content-security-policy"]).to.equal(WEB_CSP);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    return { page, errors };
  };

  const signInInstitution = async (page: Page, who: Parameters<WebGateway["key"]>[0]) => {
    await page.getByLabel("API 密鑰").fill(t.key(who));
    await page.getByRole("button", { name: "登錄 Sign in" }).click();
    await page.locator("#workspace").waitFor({ state: "visible" });
  };

  const noticeCode = async (c: TestCase): Promise<string> => {
    const res = await t.http
      .post(`/v1/cases/${c.caseId}/notice-code`)
      .set("Authorization", t.auth("township-caseworker"));
    expect(res.status).to.equal(201);
    return res.body.code;
  };

  it("index: links every page", async function () {
    const { page, errors } = await open("/web/");
    for (const href of ["/web/beneficiary", "/web/auditor", "/web/finance"]) {
      expect(await page.locator(`a[href="${href}"]`).count()).to.equal(1);
    }
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("finance (keyboard only): the city allocates to the county, the county funds the pool and starts a confirmed payout run", async function () {
    const { page, errors } = await open("/web/finance");
    const calls = recordApiCalls(page);
    const run = { t, page, selector: "#run-result", calls };
    const signIn = async (who: Parameters<WebGateway["key"]>[0]) => {
      await keyTo(page, "#api-key");
      await page.keyboard.type(t.key(who));
      await page.keyboard.press("Enter");
      await page.locator("#workspace").waitFor({ state: "visible" });
      expect(await activeId(page)).to.equal("balances-h"); // focus moves to the workspace's first heading
      await expectVisibleFocus(page);
    };
    await signIn("city-finance");
    await expectAllLabelled(page);
    await page.locator("#balances-result table").first().waitFor();
    expect(await page.locator("#balances-result").innerText()).to.include("¥4,000.00");
    await keyTo(page, "#allocate-to");
    await page.keyboard.type("110105");
    await page.keyboard.press("Tab");
    expect(await activeId(page)).to.equal("allocate-amount");
    await page.keyboard.type("2,400");
    await page.keyboard.press("Tab");
    await page.keyboard.type("京財社〔2026〕12號");
    await keyTo(page, "#allocate-form button[type=submit]");
    await page.keyboard.press("Enter");
    await page.locator("#allocate-result .verdict.ok").waitFor();
    expect(await page.locator("#allocate-result").innerText()).to.include("¥2,400.00");
    expect(await ledgerBalance(t, LOCAL_REGIONS.county)).to.equal(240_000n);
    // The button was busy, not disabled: focus stayed on it instead of falling back to the top of the page.
    expect(await focused(page, "#allocate-form button[type=submit]")).to.equal(true);
    await expectVisibleFocus(page);
    await screenshot(page, "finance-city-allocated");

    await keyTo(page, "#signout", { back: true });
    await page.keyboard.press("Enter");
    expect(await activeId(page)).to.equal("api-key");
    await signIn("county-finance");
    await page.locator("#fund-programme option").first().waitFor({ state: "attached" });
    await keyTo(page, "#fund-programme");
    await chooseOption(page, String(TEKUN));
    await page.keyboard.press("Tab");
    await page.keyboard.type("1600.00");
    await page.keyboard.press("Tab");
    await page.keyboard.type("特困供養 2026");
    await page.keyboard.press("Enter");
    await page.locator("#fund-result .verdict.ok").waitFor();

    // The run asks for confirmation first; focus is trapped in the dialog; Escape cancels and starts nothing.
    await keyTo(page, "#run-programme");
    await chooseOption(page, String(TEKUN));
    await keyTo(page, "#run-form button[type=submit]");
    await page.keyboard.press("Enter");
    const dialog = page.locator("#run-dialog");
    await dialog.waitFor({ state: "visible" });
    expect(await dialog.innerText()).to.include("¥1,600.00");
    expect(await activeId(page)).to.equal("run-confirm");
    await expectVisibleFocus(page);
    for (const [key, id] of [
      ["Tab", "run-cancel"],
      ["Tab", "run-confirm"],
      ["Shift+Tab", "run-cancel"],
      ["Shift+Tab", "run-confirm"],
    ]) {
      await page.keyboard.press(key);
      expect(await activeId(page), key).to.equal(id);
      await expectVisibleFocus(page);
    }
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await page.locator("#run-form button[type=submit]:focus").waitFor(); // back on the button that opened it
    await expectVisibleFocus(page);
    expect((await t.gateway.ctx.store.listPayouts({ limit: 10 })).length).to.equal(0);
    // The Cancel button does the same.
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "visible" });
    await page.keyboard.press("Tab");
    await page.keyboard.press("Space");
    await dialog.waitFor({ state: "hidden" });
    await page.locator("#run-form button[type=submit]:focus").waitFor();
    expect((await t.gateway.ctx.store.listPayouts({ limit: 10 })).length).to.equal(0);

    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "visible" });
    // Cancelled and asked again between two frames (a quick keyboard on a busy machine): the cancelled dialog's
    // late close event leaves the new confirmation alone.
    await clickWithinOneFrame(page, ["#run-cancel", "#run-form button[type=submit]"]);
    expect(await dialog.isVisible()).to.equal(true);
    await screenshot(page, "finance-run-confirm", "#run-dialog");
    expect(await activeId(page)).to.equal("run-confirm");
    await page.keyboard.press("Enter");
    // When the run is done, focus moves to its outcome.
    await explainFailure("the payout run's outcome", run, () =>
      page.locator("#run-result .verdict.ok:focus").waitFor(),
    );
    await expectVisibleFocus(page);
    const outcome = await page.locator("#run-result").innerText();
    expect(outcome).to.include("2 筆 paid");
    expect(outcome).to.include("¥1,600.00");
    await page.locator("#run-result", { hasText: "待銀行入賬 Awaiting the bank" }).waitFor();

    // The bank settles Alice's payout; the page's settlement status follows.
    const payouts = (await t.gateway.ctx.store.listPayouts({ limit: 10 })).map((p) => p.payoutId);
    expect(payouts).to.have.length(2);
    alicePayoutId = payouts.find((id) => id.startsWith(alice.caseId))!;
    bobPayoutId = payouts.find((id) => id.startsWith(bob.caseId))!;
    const settled = await t.http
      .post("/v1/settlements")
      .set("Authorization", t.auth("county-bank"))
      .set("Content-Type", "text/csv")
      .send(`payout_id,bank_reference,outcome,reason\n${alicePayoutId},ICBC-WEB-1,settled,\n`);
    expect(settled.status).to.equal(200);
    await keyTo(page, "#run-result button");
    expect(await page.locator("#run-result button:focus").innerText()).to.equal(
      "刷新入賬狀態 Refresh settlement status",
    );
    await page.keyboard.press("Enter");
    await page.locator("#run-result .settlement", { hasText: /已入賬 Settled\s*1/ }).waitFor();
    const status = await page.locator("#run-result").innerText();
    expect(status).to.match(/已入賬 Settled\s+1/);
    expect(status).to.match(/待銀行入賬 Awaiting the bank\s+1/);
    await screenshot(page, "finance-run-outcome");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("beneficiary (keyboard only, 360 px, Chinese): signs in with the notice code, confirms in one tap, shows the QR code and downloads a receipt that verifies", async function () {
    const code = await noticeCode(alice);
    const { page, errors } = await open("/web/beneficiary", PHONE);
    expect(await page.locator("h1").innerText()).to.equal("我的救助金");
    expect(await documentLang(page)).to.equal("zh-Hant");
    await expectAllLabelled(page);

    await tabTo(page, "#resident-id");
    await expectVisibleFocus(page);
    await page.keyboard.type(alice.residentId);
    await page.keyboard.press("Tab");
    await page.keyboard.type(code);
    await page.keyboard.press("Enter");
    const card = page.locator(".card.status-settled");
    await card.waitFor();
    const text = await card.innerText();
    expect(text).to.include("¥800.00");
    expect(text).to.include("銀行已入賬");
    expect(text).to.include("特困人員救助供養");
    expect(await scrollWidth(page)).to.be.at.most(PHONE.width);
    await screenshot(page, "beneficiary-zh-360-payments");

    await tabTo(page, ".card.status-settled button.primary");
    await expectVisibleFocus(page);
    await page.keyboard.press("Enter");
    await page.locator(".card.status-confirmed").waitFor();
    expect(await page.locator("#status-line").innerText()).to.equal("已確認收到。謝謝！");

    await tabTo(page, ".card.status-confirmed .receipt button[aria-expanded]");
    await page.keyboard.press("Enter");
    const qr = page.locator(".card.status-confirmed img.qr");
    await qr.waitFor();
    const payload = JSON.parse((await qr.getAttribute("data-payload"))!);
    expect(JSON.parse(payload.canonical)).to.include({
      payoutId: alicePayoutId,
      amountFen: "80000",
      outcome: "confirmed",
    });
    expect((await qr.getAttribute("src"))!.startsWith("data:image/svg+xml")).to.equal(true);
    expect(await qr.getAttribute("alt")).to.include("¥800.00");
    await screenshot(page, "beneficiary-zh-360-receipt-qr");
    // The QR code as the auditor gets it: a screenshot (PNG and JPEG) of what the phone shows, and its SVG.
    qrPayloadText = (await qr.getAttribute("data-payload"))!;
    await qr.screenshot({ path: qrPicture("png") });
    await qr.screenshot({ path: qrPicture("jpeg"), type: "jpeg", quality: 85 });
    const src = (await qr.getAttribute("src"))!;
    fs.writeFileSync(qrPicture("svg"), decodeURIComponent(src.slice(src.indexOf(",") + 1)));

    // The bundle carries its proof once the anchoring worker has anchored the receipt's record.
    const token = await sessionValue(page, "relief.beneficiary.session");
    for (;;) {
      const res = await t.http
        .get(`/v1/beneficiary/payments/${alicePayoutId}/receipt`)
        .set("Authorization", `Bearer ${token}`);
      if (res.headers["x-receipt-anchored"] === "true") break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await tabTo(page, ".card.status-confirmed .receipt button:not([aria-expanded])");
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
    const file = path.join(ARTIFACTS, download.suggestedFilename());
    await download.saveAs(file);
    aliceBundleText = fs.readFileSync(file, "utf8");
    const bundle = JSON.parse(aliceBundleText);
    expect(bundle.receipt).to.deep.equal(payload);
    const verified = await verifyReceiptBundle(bundle, {
      ledger: t.gateway.ctx.ledger,
      gatewayAccount: t.gateway.ctx.ledger.accountOf(GATEWAY_ACTORS.anchorer),
    });
    expect(verified.checks.filter((c) => !c.ok)).to.deep.equal([]);
    expect(verified.valid).to.equal(true);

    // English, from the same page; the language switch is a button with an accessible name.
    await tabTo(page, "#lang");
    await page.keyboard.press("Enter");
    expect(await page.locator("h1").innerText()).to.equal("My assistance payments");
    expect(await page.locator(".card.status-confirmed").innerText()).to.include("You confirmed receipt");
    await screenshot(page, "beneficiary-en-360");

    expect(page.url()).to.equal(`${t.url}/web/beneficiary`);
    for (const url of requested) {
      expect(url).to.not.include(alice.residentId);
      expect(url).to.not.include(code);
    }
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("beneficiary: reports a payment missing with a reason and sees the dispute's progress", async function () {
    const code = await noticeCode(bob);
    const { page, errors } = await open("/web/beneficiary", PHONE);
    await page.getByLabel("身份證號碼").fill(bob.residentId);
    await page.getByLabel("通知書上的8位驗證碼").fill(code);
    await page.getByRole("button", { name: "登錄" }).click();
    await page.locator(".card.status-paid").waitFor();
    expect(await page.locator(".card.status-paid").innerText()).to.include("已發放，等待銀行入賬");
    await page.getByRole("button", { name: "我沒有收到" }).click();
    await page.getByLabel("沒有收到的原因（簡單說明）").fill("存摺上沒有這筆錢");
    await expectAllLabelled(page);
    await page.getByRole("button", { name: "提交" }).click();
    const card = page.locator(".card.status-disputed");
    await card.waitFor();
    const text = await card.innerText();
    expect(text).to.include("您已報告沒有收到");
    expect(text).to.include("正在核查");
    expect(text).to.include("工作人員答覆期限");
    await screenshot(page, "beneficiary-zh-360-dispute");
    await page.getByRole("button", { name: "退出" }).click();
    await page.locator("#signin").waitFor({ state: "visible" });
    expect(await sessionValue(page, "relief.beneficiary.session")).to.equal(null);
    for (const url of requested) expect(url).to.not.include(bob.residentId);
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("beneficiary: the wrong code is refused with a plain message", async function () {
    const { page } = await open("/web/beneficiary", PHONE);
    await page.getByLabel("身份證號碼").fill(alice.residentId);
    await page.getByLabel("通知書上的8位驗證碼").fill("00000000");
    await page.getByRole("button", { name: "登錄" }).click();
    await page.locator("#signin-error:not([hidden])").waitFor();
    expect(await page.locator("#signin-error").innerText()).to.equal("身份證號碼或驗證碼不對，或驗證碼已過期。");
    await page.close();
  });

  it("auditor: verifies receipts (pasted, uploaded, the QR code from a picture: uploaded or pasted) and sees the fund trail", async function () {
    const { page, errors } = await open("/web/auditor");
    await signInInstitution(page, "county-auditor");
    await expectAllLabelled(page);

    // The downloaded receipt bundle, pasted.
    const verifyPasted = async (text: string) => {
      await page.locator("#receipt-text").fill(text);
      await page.locator("#receipt-form button[type=submit]").click();
      await page.locator("#receipt-result .verdict").waitFor();
      return page.locator("#receipt-result").innerText();
    };
    const pasted = await verifyPasted(aliceBundleText);
    expect(pasted).to.include("✓ 有效 Valid receipt-bundle");
    expect(pasted).to.include(JSON.parse(aliceBundleText).proof.txHash);
    await screenshot(page, "auditor-receipt-verified", "#receipt");

    // The QR code's payload: looked up at the gateway and compared, then verified.
    const qrPayload = JSON.stringify(JSON.parse(aliceBundleText).receipt);
    expect(qrPayloadText).to.equal(qrPayload);
    expect(await verifyPasted(qrPayload)).to.include("二維碼收據與網關記錄一致");
    // A QR payload with another amount is not the gateway's receipt.
    const forged = JSON.parse(aliceBundleText).receipt;
    forged.canonical = forged.canonical.replace('"amountFen":"80000"', '"amountFen":"90000"');
    expect(await verifyPasted(JSON.stringify(forged))).to.include("✗ 與網關簽發的收據不一致");
    // A bundle with a changed amount fails its checks.
    const tampered = aliceBundleText.replace('\\"amountFen\\":\\"80000\\"', '\\"amountFen\\":\\"90000\\"');
    expect(tampered).to.not.equal(aliceBundleText);
    expect(await verifyPasted(tampered)).to.include("✗ 無效 NOT valid");
    // Uploaded as a file.
    await page.locator("#receipt-text").fill("");
    const file = path.join(ARTIFACTS, "upload-receipt.json");
    fs.writeFileSync(file, aliceBundleText);
    await page.getByLabel("或上傳文件或二維碼圖片").setInputFiles(file);
    await page.locator("#receipt-text").fill("");
    await page.locator("#receipt-form button[type=submit]").click();
    await page.locator("#receipt-result .verdict.ok").waitFor();

    // The QR code from a picture: the screenshots of the beneficiary's phone (PNG, JPEG) and the page's SVG,
    // uploaded, then the PNG pasted. Each is read with jsQR in the page, looked up at the gateway and verified.
    const verdictOf = async (act: () => Promise<void>) => {
      await page.locator("#receipt-text").fill("");
      await page.locator("#receipt-result").evaluate((el) => el.replaceChildren());
      await act();
      await page.locator("#receipt-result .verdict").waitFor();
      return page.locator("#receipt-result").innerText();
    };
    const upload = (picture: string) => () => page.locator("#receipt-file").setInputFiles(picture);
    for (const picture of [qrPicture("png"), qrPicture("jpeg"), qrPicture("svg")]) {
      const text = await verdictOf(upload(picture));
      expect(text, picture).to.include("二維碼收據與網關記錄一致");
      expect(text, picture).to.include("✓ 有效 Valid receipt-bundle");
      expect(await page.locator("#receipt-text").inputValue()).to.equal(qrPayload);
    }
    await screenshot(page, "auditor-receipt-from-qr-picture", "#receipt");
    const fromPaste = await verdictOf(() => pasteImage(page, "#receipt-text", qrPicture("png"), "image/png"));
    expect(fromPaste).to.include("二維碼收據與網關記錄一致");
    // A QR code of another payload (the amount changed) is refused; a picture without a QR code says so.
    const forgedQr = path.join(ARTIFACTS, "forged-receipt-qr.png");
    await QRCode.toFile(forgedQr, JSON.stringify(forged), { errorCorrectionLevel: "L", margin: 2, scale: 4 });
    expect(await verdictOf(upload(forgedQr))).to.include("✗ 與網關簽發的收據不一致");
    const readForged = JSON.parse(await page.locator("#receipt-text").inputValue());
    expect(JSON.parse(readForged.canonical).amountFen).to.equal("90000");
    expect(await verdictOf(upload(path.join(ARTIFACTS, "finance-run-confirm.png")))).to.include(
      "✗ 圖片中沒有找到二維碼 No QR code found",
    );
    // This browser has no camera: the scan button says so and points to the picture.
    await page.getByRole("button", { name: "掃描二維碼 Scan a QR code with the camera" }).click();
    await page.locator("#scan-status", { hasText: "No camera available" }).waitFor();
    expect(await page.locator("#scanner").isHidden()).to.equal(true);

    // The fund trail of the county: the flow picture, balances per level, payouts per month.
    await page.locator("#trail-programme option").first().waitFor({ state: "attached" });
    await page.locator("#trail-form button").click();
    await page.locator("#trail-result svg.chart").first().waitFor();
    const trail = await page.locator("#trail-result").innerText();
    expect(trail).to.include("✓ 資金守恆");
    expect(trail).to.include("¥1,600.00");
    expect(await page.locator("#trail-result svg.chart").count()).to.equal(2);
    expect(await page.locator("#trail-result svg.chart rect").count()).to.be.greaterThan(3);
    await screenshot(page, "auditor-fund-trail", "#trail");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("auditor (keyboard only, a camera): scans the receipt QR code with the camera", async function () {
    // Chromium's fake capture device plays a video of the QR code the beneficiary's page showed, as a webcam would.
    // First it films a blank page (Escape stops the scan), then the QR code: Chromium opens the file at each start.
    const video = path.join(ARTIFACTS, "receipt-qr-camera.y4m");
    writeBlankVideo(video);
    const camera = await launchChromium(fakeCameraArgs(video));
    try {
      await camera.context.grantPermissions(["camera"], { origin: t.url });
      const page = await camera.newPage();
      const response = await page.goto(`${t.url}/web/auditor`);
      expect(response?.headers()["permissions-policy"]).to.equal(permissionsPolicy("/auditor"));
      expect(response?.headers()["content-security-policy"]).to.equal(WEB_CSP);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await keyTo(page, "#api-key");
      await page.keyboard.type(t.key("county-auditor"));
      await page.keyboard.press("Enter");
      await page.locator("#workspace").waitFor({ state: "visible" });
      await keyTo(page, "#scan-start");
      await page.keyboard.press("Enter");
      await page.locator("#scanner").waitFor({ state: "visible" });
      // The camera is on: its frames are playing in the page's video.
      await videoPlaying(page, "#scan-video");
      expect(await activeId(page)).to.equal("scan-stop"); // focus on the way out of the camera view
      await expectVisibleFocus(page);
      await screenshot(page, "auditor-scanning", "#receipt");
      await page.keyboard.press("Escape");
      await page.locator("#scanner").waitFor({ state: "hidden" });
      expect(await page.locator("#scan-status").innerText()).to.include("Scanning stopped");
      expect(await activeId(page)).to.equal("scan-start");
      expect(await page.locator("#receipt-result").innerText()).to.equal("");

      writeQrVideo(video, qrPayloadText);
      await page.keyboard.press("Enter");
      await page.locator("#receipt-result .verdict").waitFor();
      const text = await page.locator("#receipt-result").innerText();
      expect(text).to.include("二維碼收據與網關記錄一致");
      expect(text).to.include("✓ 有效 Valid receipt-bundle");
      expect(await page.locator("#scan-status").innerText()).to.include("QR code read from the camera");
      expect(await page.locator("#receipt-text").inputValue()).to.equal(qrPayloadText);
      // The camera view is gone and focus is back on the scan button.
      expect(await page.locator("#scanner").isHidden()).to.equal(true);
      expect(await activeId(page)).to.equal("scan-start");
      await expectVisibleFocus(page);
      await screenshot(page, "auditor-receipt-from-camera", "#receipt");
      expect(errors).to.deep.equal([]);
    } finally {
      await camera.close();
    }
  });

  it("auditor (keyboard only): verifies a record by id, runs a sweep, opens a dispute's evidence and exports a case bundle", async function () {
    const { page, errors } = await open("/web/auditor");
    await keyTo(page, "#api-key");
    await page.keyboard.type(t.key("county-auditor"));
    await page.keyboard.press("Enter");
    await page.locator("#workspace").waitFor({ state: "visible" });
    expect(await activeId(page)).to.equal("verify-h");
    await expectVisibleFocus(page);

    // A record by id: the application record of Alice's case, anchored by the worker.
    for (;;) {
      const v = await t.http
        .get(`/v1/records/${alice.record.id}/verification`)
        .set("Authorization", t.auth("county-auditor"));
      if (v.body.verdict === "verified") break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const expected = (
      await t.http.get(`/v1/records/${alice.record.id}/verification`).set("Authorization", t.auth("county-auditor"))
    ).body;
    await keyTo(page, "#record-id");
    await page.keyboard.type(alice.record.id);
    await page.keyboard.press("Enter");
    await page.locator("#record-result .verdict").waitFor();
    const record = await page.locator("#record-result").innerText();
    expect(record).to.include("核驗通過 Verified");
    expect(record).to.include(expected.digest);
    expect(record).to.include(expected.proof.txHash);
    expect(await page.locator("#record-result .proof-path li").count()).to.equal(expected.proof.siblings.length);
    expect(await activeId(page)).to.equal("record-id");

    // A sweep: Bob's open dispute is listed with its evidence; following it verifies his receipt.
    await keyTo(page, "#sweep-form button[type=submit]");
    await page.keyboard.press("Enter");
    await page.locator("#sweep-result table").first().waitFor({ timeout: 90_000 });
    const disputes = page.locator("#sweep-result table").first();
    expect(await disputes.innerText()).to.include("dispute-open");
    await screenshot(page, "auditor-sweep", "#sweep");
    await keyTo(page, "#sweep-result table:first-of-type .evidence-receipt");
    await page.keyboard.press("Enter");
    await page.locator("#receipt-result .verdict").waitFor();
    expect(await activeId(page)).to.equal("receipt-h"); // focus moves to what the evidence opened
    await expectVisibleFocus(page);
    expect(await page.locator("#receipt-text").inputValue()).to.include(bobPayoutId);
    expect(await page.locator("#receipt-result").innerText()).to.include("✓ 有效 Valid receipt-bundle");

    // Export Alice's case bundle (Shift+Tab back from the button to the field, then Space): it verifies offline.
    await keyTo(page, "#bundle-case");
    await page.keyboard.type(alice.caseId);
    await page.keyboard.press("Tab");
    expect(await focused(page, "#case-bundle-form button[type=submit]")).to.equal(true);
    await page.keyboard.press("Shift+Tab");
    expect(await activeId(page)).to.equal("bundle-case");
    await page.keyboard.press("Tab");
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Space")]);
    const bundleFile = path.join(ARTIFACTS, download.suggestedFilename());
    await download.saveAs(bundleFile);
    const result = await verifyDocument(fs.readFileSync(bundleFile, "utf8"));
    expect(result.kind).to.equal("audit-bundle");
    expect(result.valid).to.equal(true);
    await page.locator("#export-result .verdict.ok").waitFor();
    expect(await focused(page, "#case-bundle-form button[type=submit]")).to.equal(true);
    await expectVisibleFocus(page);
    await screenshot(page, "auditor-keyboard-export", "#export");
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it("keeps personal data out of every URL the browser requested", function () {
    expect(requested.length).to.be.greaterThan(10);
    for (const url of requested) {
      for (const c of [alice, bob]) expect(url).to.not.include(c.residentId);
    }
  });
});

async function ledgerBalance(t: WebGateway, region: bigint): Promise<bigint> {
  const res = await t.http.get(`/v1/budget/balances?region=${region}`).set("Authorization", t.auth("city-finance"));
  return BigInt(res.body.balance);
}
