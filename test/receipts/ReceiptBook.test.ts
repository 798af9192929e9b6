import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { BigNumberish, Signer } from "ethers";
import {
  DAY,
  PROGRAMMES,
  REGION,
  approvedCase,
  currentPeriod,
  deployReceiptScenario,
  digest,
  nextPeriod,
  type ReceiptScenario,
} from "../helpers/fixture";
import { Role } from "../../lib/roles";
import {
  DisputeOutcome,
  DisputeStatus,
  RECEIPT_TYPES,
  ReceiptOutcome,
  ReceiptSource,
  receiptDomain,
  signReceipt,
  type Receipt,
} from "../../lib/receipts";

interface Key {
  caseId: string;
  period: BigNumberish;
  eventId: string;
}

const ANCHORER_MASK = 1 << Role.Anchorer;
const APPROVER_MASK = 1 << Role.Approver;
const WINDOW = PROGRAMMES.dibao.disputeWindow; // 15 days, the same in every test programme
const NOTE = digest("note:beneficiary");
const EVIDENCE = digest("sm2-signed-receipt");
const RESOLUTION = digest("bank-statement");

async function domainOf(fx: ReceiptScenario) {
  const { chainId } = await ethers.provider.getNetwork();
  return receiptDomain(chainId, await fx.receipts.getAddress());
}

/** A receipt for `key`, valid for a day unless `over` says otherwise. */
async function receiptFor(key: Key, outcome: number, over: Partial<Receipt> = {}): Promise<Receipt> {
  return {
    caseId: key.caseId,
    period: key.period,
    eventId: key.eventId,
    outcome,
    noteDigest: NOTE,
    deadline: (await time.latest()) + DAY,
    ...over,
  };
}

/** `signer` signs a receipt for `key` in the book's domain. */
async function signed(fx: ReceiptScenario, signer: Signer, key: Key, outcome: number, over: Partial<Receipt> = {}) {
  const receipt = await receiptFor(key, outcome, over);
  return { receipt, signature: await signReceipt(signer, await domainOf(fx), receipt) };
}

/** The beneficiary of `key`'s case signs, a stranger relays. */
async function submit(fx: ReceiptScenario, key: Key, outcome: number, over: Partial<Receipt> = {}) {
  const signer = key.caseId === fx.monthlyKey.caseId ? fx.actors.beneficiary : fx.medicalBeneficiary;
  const { receipt, signature } = await signed(fx, signer, key, outcome, over);
  return fx.receipts.connect(fx.actors.stranger).submitReceipt(receipt, signature);
}

/** The next block's timestamp, fixed so that events carrying it can be asserted exactly. */
async function pinNextBlock(): Promise<number> {
  const t = (await time.latest()) + 5;
  await time.setNextBlockTimestamp(t);
  return t;
}

async function receiptOf(fx: ReceiptScenario, key: Key) {
  const r = await fx.receipts.receiptOf(key);
  return [Number(r.outcome), Number(r.source), Number(r.timestamp)];
}

async function disputeOf(fx: ReceiptScenario, key: Key) {
  const d = await fx.receipts.disputeOf(key);
  return [Number(d.status), Number(d.openedAt), Number(d.responseDeadline), Number(d.outcome)];
}

const tuple = (k: Key) => [k.caseId, BigInt(k.period), k.eventId];

describe("ReceiptBook", function () {
  describe("deployment", function () {
    it("ReceiptBook on deployment exposes its registry, its ledger and the EIP-712 domain", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      expect(await fx.receipts.registry()).to.equal(await fx.registry.getAddress());
      expect(await fx.receipts.ledger()).to.equal(await fx.ledger.getAddress());
      const d = await fx.receipts.eip712Domain();
      const { chainId } = await ethers.provider.getNetwork();
      expect([d.name, d.version, d.chainId, d.verifyingContract]).to.deep.equal([
        "ReliefLedger Receipts",
        "1",
        chainId,
        await fx.receipts.getAddress(),
      ]);
    });

    it("receiptDigest for any receipt equals the EIP-712 hash that lib/receipts.ts signs", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      for (const receipt of [
        await receiptFor(fx.monthlyKey, ReceiptOutcome.Confirmed),
        await receiptFor(fx.billKey, ReceiptOutcome.NotReceived, { noteDigest: ethers.ZeroHash, deadline: 2n ** 255n }),
      ]) {
        const expected = ethers.TypedDataEncoder.hash(await domainOf(fx), RECEIPT_TYPES, receipt);
        expect(await fx.receipts.receiptDigest(receipt)).to.equal(expected);
      }
    });

    it("signReceipt from lib/receipts.ts yields a signature that recovers to the signer", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const { receipt, signature } = await signed(fx, fx.medicalBeneficiary, fx.billKey, ReceiptOutcome.Confirmed);
      const recovered = ethers.verifyTypedData(await domainOf(fx), RECEIPT_TYPES, receipt, signature);
      expect(recovered).to.equal(fx.medicalBeneficiary.address);
    });
  });

  describe("submitReceipt", function () {
    it("submitReceipt of a signed confirmation of a monthly payout, relayed by anyone, records it and emits ReceiptConfirmed", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const t = await pinNextBlock();
      await expect(submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed))
        .to.emit(fx.receipts, "ReceiptConfirmed")
        .withArgs(fx.monthlyKey.caseId, ethers.ZeroHash, fx.monthlyKey.period, ReceiptSource.Signature, NOTE);
      expect(await receiptOf(fx, fx.monthlyKey)).to.deep.equal([ReceiptOutcome.Confirmed, ReceiptSource.Signature, t]);
      expect(await disputeOf(fx, fx.monthlyKey)).to.deep.equal([DisputeStatus.None, 0, 0, DisputeOutcome.None]);
    });

    it("submitReceipt of a signed confirmation of a medical-bill payout records it and emits ReceiptConfirmed", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const t = await pinNextBlock();
      await expect(submit(fx, fx.billKey, ReceiptOutcome.Confirmed))
        .to.emit(fx.receipts, "ReceiptConfirmed")
        .withArgs(fx.billKey.caseId, fx.billId, fx.billKey.period, ReceiptSource.Signature, NOTE);
      expect(await receiptOf(fx, fx.billKey)).to.deep.equal([ReceiptOutcome.Confirmed, ReceiptSource.Signature, t]);
    });

    it("submitReceipt of a settled payout's confirmation records it", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await fx.ledger.connect(fx.actors.paymentAgent).confirmSettlements(digest("bank-ref"), [fx.monthlyKey]);
      await expect(submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed)).to.emit(fx.receipts, "ReceiptConfirmed");
      expect((await receiptOf(fx, fx.monthlyKey))[0]).to.equal(ReceiptOutcome.Confirmed);
    });

    it("submitReceipt with a zero note digest is accepted (the note is optional)", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await expect(submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed, { noteDigest: ethers.ZeroHash }))
        .to.emit(fx.receipts, "ReceiptConfirmed")
        .withArgs(
          fx.monthlyKey.caseId,
          ethers.ZeroHash,
          fx.monthlyKey.period,
          ReceiptSource.Signature,
          ethers.ZeroHash,
        );
    });

    it("submitReceipt of a signed non-receipt opens a dispute with the programme's window and emits DisputeOpened", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const t = await pinNextBlock();
      await expect(submit(fx, fx.monthlyKey, ReceiptOutcome.NotReceived))
        .to.emit(fx.receipts, "DisputeOpened")
        .withArgs(fx.monthlyKey.caseId, ethers.ZeroHash, fx.monthlyKey.period, t + WINDOW, NOTE)
        .and.not.to.emit(fx.receipts, "ReceiptConfirmed");
      expect(await receiptOf(fx, fx.monthlyKey)).to.deep.equal([
        ReceiptOutcome.NotReceived,
        ReceiptSource.Signature,
        t,
      ]);
      expect(await disputeOf(fx, fx.monthlyKey)).to.deep.equal([
        DisputeStatus.Open,
        t,
        t + WINDOW,
        DisputeOutcome.None,
      ]);
      expect(await fx.receipts.openDisputeCount()).to.equal(1n);
      const open = await fx.receipts.openDisputeAt(0);
      expect([open.caseId, open.period, open.eventId]).to.deep.equal(tuple(fx.monthlyKey));
    });

    it("submitReceipt of a non-receipt uses the dispute window the ledger's programme holds now", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const window = 3 * DAY;
      await fx.ledger.connect(fx.actors.approver).updateProgrammeRule(fx.medical.programmeId, {
        ...PROGRAMMES.medical,
        disputeWindow: window,
        ruleVersion: digest("medical-2024-short-window"),
      });
      const t = await pinNextBlock();
      await expect(submit(fx, fx.billKey, ReceiptOutcome.NotReceived))
        .to.emit(fx.receipts, "DisputeOpened")
        .withArgs(fx.billKey.caseId, fx.billId, fx.billKey.period, t + window, NOTE);
    });

    it("submitReceipt at exactly its deadline is accepted", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const deadline = (await time.latest()) + 100;
      const { receipt, signature } = await signed(fx, fx.actors.beneficiary, fx.monthlyKey, ReceiptOutcome.Confirmed, {
        deadline,
      });
      await time.setNextBlockTimestamp(deadline);
      await expect(fx.receipts.submitReceipt(receipt, signature)).to.emit(fx.receipts, "ReceiptConfirmed");
    });

    it("submitReceipt past its deadline reverts with LedgerReceiptExpired", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const deadline = (await time.latest()) + 100;
      const { receipt, signature } = await signed(fx, fx.actors.beneficiary, fx.monthlyKey, ReceiptOutcome.Confirmed, {
        deadline,
      });
      await time.increaseTo(deadline + 1);
      await expect(fx.receipts.submitReceipt(receipt, signature))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerReceiptExpired")
        .withArgs(deadline);
    });

    it("submitReceipt for a case without a beneficiary key reverts with LedgerNoBeneficiaryKey", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const temp = await approvedCase(fx, "temporary", { a: { amount: 100_000n } });
      const period = await currentPeriod(fx.ledger);
      await fx.ledger.executePayouts(temp.programmeId, period, [temp.caseId]);
      const key = { caseId: temp.caseId, period, eventId: ethers.ZeroHash };
      const { receipt, signature } = await signed(fx, fx.actors.beneficiary, key, ReceiptOutcome.Confirmed);
      await expect(fx.receipts.submitReceipt(receipt, signature))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerNoBeneficiaryKey")
        .withArgs(temp.caseId);
    });

    it("submitReceipt for an unknown case reverts with LedgerNoBeneficiaryKey", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const key = { ...fx.monthlyKey, caseId: digest("no-such-case") };
      const { receipt, signature } = await signed(fx, fx.actors.beneficiary, key, ReceiptOutcome.Confirmed);
      await expect(fx.receipts.submitReceipt(receipt, signature))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerNoBeneficiaryKey")
        .withArgs(key.caseId);
    });

    it("submitReceipt signed by someone other than the beneficiary key reverts with LedgerInvalidReceiptSignature", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      for (const signer of [fx.actors.stranger, fx.actors.caseworker, fx.medicalBeneficiary]) {
        const { receipt, signature } = await signed(fx, signer, fx.monthlyKey, ReceiptOutcome.Confirmed);
        await expect(fx.receipts.submitReceipt(receipt, signature))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidReceiptSignature")
          .withArgs(fx.monthlyKey.caseId, await signer.getAddress());
      }
    });

    it("submitReceipt whose fields differ from what was signed reverts with LedgerInvalidReceiptSignature", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const { receipt, signature } = await signed(fx, fx.actors.beneficiary, fx.monthlyKey, ReceiptOutcome.NotReceived);
      const domain = await domainOf(fx);
      for (const forged of [
        { ...receipt, outcome: ReceiptOutcome.Confirmed },
        { ...receipt, noteDigest: digest("another note") },
        { ...receipt, deadline: BigInt(receipt.deadline) + 1n },
      ]) {
        const recovered = ethers.verifyTypedData(domain, RECEIPT_TYPES, forged, signature);
        await expect(fx.receipts.submitReceipt(forged, signature))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidReceiptSignature")
          .withArgs(fx.monthlyKey.caseId, recovered);
      }
    });

    it("submitReceipt signed for another chain or another book reverts with LedgerInvalidReceiptSignature", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const receipt = await receiptFor(fx.monthlyKey, ReceiptOutcome.Confirmed);
      const right = await domainOf(fx);
      for (const domain of [
        { ...right, chainId: 1n },
        { ...right, verifyingContract: await fx.ledger.getAddress() },
        { ...right, version: "2" },
      ]) {
        const signature = await signReceipt(fx.actors.beneficiary, domain, receipt);
        const recovered = ethers.verifyTypedData(right, RECEIPT_TYPES, receipt, signature);
        await expect(fx.receipts.submitReceipt(receipt, signature))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidReceiptSignature")
          .withArgs(fx.monthlyKey.caseId, recovered);
      }
    });

    it("submitReceipt with a malformed signature (length, high s, bad v) reverts with LedgerInvalidReceiptSignature and signer zero", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const { receipt, signature } = await signed(fx, fx.actors.beneficiary, fx.monthlyKey, ReceiptOutcome.Confirmed);
      const sig = ethers.Signature.from(signature);
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const highS = ethers.concat([sig.r, ethers.toBeHex(n - BigInt(sig.s), 32), sig.yParity === 0 ? "0x1c" : "0x1b"]);
      const badV = ethers.concat([sig.r, sig.s, "0x1d"]);
      for (const bad of [
        "0x",
        ethers.dataSlice(signature, 0, 64),
        ethers.concat([signature, "0x00"]),
        sig.compactSerialized, // ERC-2098 short form
        highS,
        badV,
      ]) {
        await expect(fx.receipts.submitReceipt(receipt, bad))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidReceiptSignature")
          .withArgs(fx.monthlyKey.caseId, ethers.ZeroAddress);
      }
    });

    it("submitReceipt with an outcome other than Confirmed or NotReceived reverts with LedgerInvalidInput", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      for (const outcome of [0, 3, 255]) {
        const { receipt, signature } = await signed(fx, fx.actors.beneficiary, fx.monthlyKey, outcome);
        await expect(fx.receipts.submitReceipt(receipt, signature))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidInput")
          .withArgs("outcome");
      }
    });

    it("submitReceipt for a period the case was not paid reverts with LedgerPayoutNotFound", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      for (const period of [BigInt(fx.monthlyKey.period) + 1n, BigInt(fx.monthlyKey.period) - 1n]) {
        const key = { ...fx.monthlyKey, period };
        await expect(submit(fx, key, ReceiptOutcome.Confirmed))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerPayoutNotFound")
          .withArgs(key.caseId, period, ethers.ZeroHash);
      }
    });

    it("submitReceipt for an event payout under another period than it was paid in reverts with LedgerPayoutNotFound", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      // Otherwise one payout could collect a receipt under every period.
      const key = { ...fx.billKey, period: BigInt(fx.billKey.period) - 1n };
      await expect(submit(fx, key, ReceiptOutcome.Confirmed))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerPayoutNotFound")
        .withArgs(key.caseId, key.period, fx.billId);
    });

    it("submitReceipt for an event the case was not paid reverts with LedgerPayoutNotFound", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const key = { ...fx.billKey, eventId: digest("bill:never-certified") };
      await expect(submit(fx, key, ReceiptOutcome.NotReceived))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerPayoutNotFound")
        .withArgs(key.caseId, key.period, key.eventId);
    });

    it("submitReceipt for a payout whose failure the bank reported reverts with LedgerPayoutNotFound", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await fx.ledger.connect(fx.actors.paymentAgent).reportFailure(fx.monthlyKey, digest("account closed"));
      await expect(submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerPayoutNotFound")
        .withArgs(...tuple(fx.monthlyKey));
    });

    it("submitReceipt a second time for a payout reverts with LedgerReceiptExists (confirmed, or disputed twice)", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed);
      for (const outcome of [ReceiptOutcome.Confirmed, ReceiptOutcome.NotReceived]) {
        await expect(submit(fx, fx.monthlyKey, outcome))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerReceiptExists")
          .withArgs(...tuple(fx.monthlyKey));
      }
      await submit(fx, fx.billKey, ReceiptOutcome.NotReceived);
      await expect(submit(fx, fx.billKey, ReceiptOutcome.NotReceived))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerReceiptExists")
        .withArgs(...tuple(fx.billKey));
    });

    it("submitReceipt replaying the same signature reverts with LedgerReceiptExists", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const { receipt, signature } = await signed(fx, fx.actors.beneficiary, fx.monthlyKey, ReceiptOutcome.Confirmed);
      await fx.receipts.submitReceipt(receipt, signature);
      await expect(fx.receipts.connect(fx.actors.anchorer).submitReceipt(receipt, signature))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerReceiptExists")
        .withArgs(...tuple(fx.monthlyKey));
    });

    it("submitReceipt after the caseworker replaces the beneficiary key accepts only the new key", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const oldSig = await signed(fx, fx.actors.beneficiary, fx.monthlyKey, ReceiptOutcome.Confirmed);
      const newKey = ethers.Wallet.createRandom();
      await fx.ledger.connect(fx.actors.caseworker).setBeneficiaryKey(fx.monthlyKey.caseId, newKey.address);
      await expect(fx.receipts.submitReceipt(oldSig.receipt, oldSig.signature))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidReceiptSignature")
        .withArgs(fx.monthlyKey.caseId, fx.actors.beneficiary.address);
      const newSig = await signed(fx, newKey, fx.monthlyKey, ReceiptOutcome.Confirmed);
      await expect(fx.receipts.submitReceipt(newSig.receipt, newSig.signature)).to.emit(
        fx.receipts,
        "ReceiptConfirmed",
      );
    });

    it("submitReceipt while the registry is paused reverts with LedgerPausedError, then succeeds once unpaused", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const { receipt, signature } = await signed(fx, fx.actors.beneficiary, fx.monthlyKey, ReceiptOutcome.Confirmed);
      await fx.registry.connect(fx.actors.admin).pause();
      await expect(fx.receipts.submitReceipt(receipt, signature)).to.be.revertedWithCustomError(
        fx.registry,
        "LedgerPausedError",
      );
      await fx.registry.connect(fx.actors.admin).unpause();
      await expect(fx.receipts.submitReceipt(receipt, signature)).to.emit(fx.receipts, "ReceiptConfirmed");
    });
  });

  describe("attestReceipt", function () {
    it("attestReceipt by the central anchorer confirms a monthly payout and emits ReceiptConfirmed with the evidence digest", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const t = await pinNextBlock();
      await expect(
        fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.monthlyKey, ReceiptOutcome.Confirmed, EVIDENCE),
      )
        .to.emit(fx.receipts, "ReceiptConfirmed")
        .withArgs(fx.monthlyKey.caseId, ethers.ZeroHash, fx.monthlyKey.period, ReceiptSource.Attestation, EVIDENCE);
      expect(await receiptOf(fx, fx.monthlyKey)).to.deep.equal([
        ReceiptOutcome.Confirmed,
        ReceiptSource.Attestation,
        t,
      ]);
    });

    it("attestReceipt by an anchorer of the case's county confirms a medical-bill payout", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await expect(fx.receipts.connect(fx.countyAnchorer).attestReceipt(fx.billKey, ReceiptOutcome.Confirmed, EVIDENCE))
        .to.emit(fx.receipts, "ReceiptConfirmed")
        .withArgs(fx.billKey.caseId, fx.billId, fx.billKey.period, ReceiptSource.Attestation, EVIDENCE);
    });

    it("attestReceipt of a non-receipt opens a dispute and emits DisputeOpened with the evidence digest", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const t = await pinNextBlock();
      await expect(
        fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.billKey, ReceiptOutcome.NotReceived, EVIDENCE),
      )
        .to.emit(fx.receipts, "DisputeOpened")
        .withArgs(fx.billKey.caseId, fx.billId, fx.billKey.period, t + WINDOW, EVIDENCE);
      expect(await receiptOf(fx, fx.billKey)).to.deep.equal([ReceiptOutcome.NotReceived, ReceiptSource.Attestation, t]);
      expect(await disputeOf(fx, fx.billKey)).to.deep.equal([DisputeStatus.Open, t, t + WINDOW, DisputeOutcome.None]);
    });

    it("attestReceipt by an account without the anchorer role reverts with LedgerUnauthorizedRole", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const { stranger, approver, caseworker, paymentAgent, auditor, keeper, beneficiary } = fx.actors;
      for (const who of [stranger, approver, caseworker, paymentAgent, auditor, keeper, beneficiary]) {
        await expect(fx.receipts.connect(who).attestReceipt(fx.monthlyKey, ReceiptOutcome.Confirmed, EVIDENCE))
          .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
          .withArgs(who.address, ANCHORER_MASK);
      }
    });

    it("attestReceipt by an anchorer of another county reverts with LedgerUnauthorizedRegion", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await expect(
        fx.receipts.connect(fx.otherAnchorer).attestReceipt(fx.monthlyKey, ReceiptOutcome.Confirmed, EVIDENCE),
      )
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRegion")
        .withArgs(fx.otherAnchorer.address, REGION.township);
    });

    it("attestReceipt by a deactivated anchorer reverts with LedgerUnauthorizedRole", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await fx.registry.connect(fx.actors.admin).setActive(fx.actors.anchorer.address, false);
      await expect(
        fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.monthlyKey, ReceiptOutcome.Confirmed, EVIDENCE),
      )
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
        .withArgs(fx.actors.anchorer.address, ANCHORER_MASK);
    });

    it("attestReceipt without an evidence digest reverts with LedgerInvalidInput", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await expect(
        fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.monthlyKey, ReceiptOutcome.Confirmed, ethers.ZeroHash),
      )
        .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidInput")
        .withArgs("evidenceDigest");
    });

    it("attestReceipt with an outcome other than Confirmed or NotReceived reverts with LedgerInvalidInput", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      for (const outcome of [0, 3, 255]) {
        await expect(fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.monthlyKey, outcome, EVIDENCE))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidInput")
          .withArgs("outcome");
      }
    });

    it("attestReceipt for an unknown case or an unpaid period reverts with LedgerPayoutNotFound", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      for (const key of [
        { ...fx.monthlyKey, caseId: digest("no-such-case") },
        { ...fx.monthlyKey, period: BigInt(fx.monthlyKey.period) + 1n },
        { ...fx.billKey, period: BigInt(fx.billKey.period) + 1n },
      ]) {
        await expect(fx.receipts.connect(fx.countyAnchorer).attestReceipt(key, ReceiptOutcome.Confirmed, EVIDENCE))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerPayoutNotFound")
          .withArgs(...tuple(key));
      }
    });

    it("attestReceipt of a payout the beneficiary already confirmed by signature reverts with LedgerReceiptExists", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed);
      await expect(
        fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.monthlyKey, ReceiptOutcome.Confirmed, EVIDENCE),
      )
        .to.be.revertedWithCustomError(fx.receipts, "LedgerReceiptExists")
        .withArgs(...tuple(fx.monthlyKey));
    });

    it("attestReceipt while the registry is paused reverts with LedgerPausedError", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await fx.registry.connect(fx.actors.admin).pause();
      await expect(
        fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.monthlyKey, ReceiptOutcome.Confirmed, EVIDENCE),
      ).to.be.revertedWithCustomError(fx.registry, "LedgerPausedError");
    });
  });

  describe("disputes", function () {
    async function disputed() {
      const fx = await deployReceiptScenario();
      const openedAt = await pinNextBlock();
      await submit(fx, fx.monthlyKey, ReceiptOutcome.NotReceived);
      return { ...fx, openedAt };
    }

    for (const outcome of [DisputeOutcome.PaymentProven, DisputeOutcome.Reissued, DisputeOutcome.Dismissed]) {
      it(`resolveDispute with ${DisputeOutcome[outcome]} by an approver in scope closes the dispute and emits DisputeResolved`, async function () {
        const fx = await loadFixture(disputed);
        await expect(fx.receipts.connect(fx.actors.approver).resolveDispute(fx.monthlyKey, outcome, RESOLUTION))
          .to.emit(fx.receipts, "DisputeResolved")
          .withArgs(fx.monthlyKey.caseId, ethers.ZeroHash, fx.monthlyKey.period, outcome, RESOLUTION);
        expect(await disputeOf(fx, fx.monthlyKey)).to.deep.equal([
          DisputeStatus.Resolved,
          fx.openedAt,
          fx.openedAt + WINDOW,
          outcome,
        ]);
        expect(await fx.receipts.openDisputeCount()).to.equal(0n);
        expect((await receiptOf(fx, fx.monthlyKey))[0]).to.equal(ReceiptOutcome.NotReceived);
      });
    }

    it("resolveDispute by the township approver of the case's street office is in scope", async function () {
      const fx = await loadFixture(disputed);
      await expect(
        fx.receipts
          .connect(fx.actors.townshipApprover)
          .resolveDispute(fx.monthlyKey, DisputeOutcome.Dismissed, RESOLUTION),
      ).to.emit(fx.receipts, "DisputeResolved");
    });

    it("resolveDispute by an account without the approver role reverts with LedgerUnauthorizedRole", async function () {
      const fx = await loadFixture(disputed);
      const { stranger, caseworker, anchorer, paymentAgent, auditor, beneficiary } = fx.actors;
      for (const who of [stranger, caseworker, anchorer, paymentAgent, auditor, beneficiary]) {
        await expect(fx.receipts.connect(who).resolveDispute(fx.monthlyKey, DisputeOutcome.PaymentProven, RESOLUTION))
          .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRole")
          .withArgs(who.address, APPROVER_MASK);
      }
    });

    it("resolveDispute by an approver of another county reverts with LedgerUnauthorizedRegion", async function () {
      const fx = await loadFixture(disputed);
      await expect(
        fx.receipts
          .connect(fx.actors.otherApprover)
          .resolveDispute(fx.monthlyKey, DisputeOutcome.PaymentProven, RESOLUTION),
      )
        .to.be.revertedWithCustomError(fx.registry, "LedgerUnauthorizedRegion")
        .withArgs(fx.actors.otherApprover.address, REGION.township);
    });

    it("resolveDispute with outcome None or ResolvedByBeneficiary reverts with LedgerInvalidInput", async function () {
      const fx = await loadFixture(disputed);
      for (const outcome of [DisputeOutcome.None, DisputeOutcome.ResolvedByBeneficiary]) {
        await expect(fx.receipts.connect(fx.actors.approver).resolveDispute(fx.monthlyKey, outcome, RESOLUTION))
          .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidInput")
          .withArgs("outcome");
      }
    });

    it("resolveDispute without a resolution digest reverts with LedgerInvalidInput", async function () {
      const fx = await loadFixture(disputed);
      await expect(
        fx.receipts
          .connect(fx.actors.approver)
          .resolveDispute(fx.monthlyKey, DisputeOutcome.Dismissed, ethers.ZeroHash),
      )
        .to.be.revertedWithCustomError(fx.receipts, "LedgerInvalidInput")
        .withArgs("resolutionDigest");
    });

    it("resolveDispute of a payout without a dispute, or of a resolved one, reverts with LedgerNoOpenDispute", async function () {
      const fx = await loadFixture(disputed);
      const approver = fx.receipts.connect(fx.actors.approver);
      await expect(approver.resolveDispute(fx.billKey, DisputeOutcome.Dismissed, RESOLUTION))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerNoOpenDispute")
        .withArgs(...tuple(fx.billKey));
      await approver.resolveDispute(fx.monthlyKey, DisputeOutcome.Dismissed, RESOLUTION);
      await expect(approver.resolveDispute(fx.monthlyKey, DisputeOutcome.PaymentProven, RESOLUTION))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerNoOpenDispute")
        .withArgs(...tuple(fx.monthlyKey));
    });

    it("resolveDispute while the registry is paused reverts with LedgerPausedError", async function () {
      const fx = await loadFixture(disputed);
      await fx.registry.connect(fx.actors.admin).pause();
      await expect(
        fx.receipts.connect(fx.actors.approver).resolveDispute(fx.monthlyKey, DisputeOutcome.Dismissed, RESOLUTION),
      ).to.be.revertedWithCustomError(fx.registry, "LedgerPausedError");
    });

    it("isOverdue of a dispute is false until its response deadline has passed, then true until it is resolved", async function () {
      const fx = await loadFixture(disputed);
      expect(await fx.receipts.isOverdue(fx.monthlyKey)).to.equal(false);
      await time.increaseTo(fx.openedAt + WINDOW);
      expect(await fx.receipts.isOverdue(fx.monthlyKey)).to.equal(false);
      await time.increase(1);
      expect(await fx.receipts.isOverdue(fx.monthlyKey)).to.equal(true);
      await time.increase(30 * DAY);
      expect(await fx.receipts.isOverdue(fx.monthlyKey)).to.equal(true);
      await fx.receipts.connect(fx.actors.approver).resolveDispute(fx.monthlyKey, DisputeOutcome.Dismissed, RESOLUTION);
      expect(await fx.receipts.isOverdue(fx.monthlyKey)).to.equal(false);
    });

    it("isOverdue of a payout without a dispute or with a confirmation is false, however late", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      await submit(fx, fx.billKey, ReceiptOutcome.Confirmed);
      await time.increase(365 * DAY);
      expect(await fx.receipts.isOverdue(fx.monthlyKey)).to.equal(false);
      expect(await fx.receipts.isOverdue(fx.billKey)).to.equal(false);
    });

    it("submitReceipt confirming a disputed payout closes the dispute as ResolvedByBeneficiary and emits both events", async function () {
      const fx = await loadFixture(disputed);
      const t = await pinNextBlock();
      const note = digest("found it in the passbook");
      await expect(submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed, { noteDigest: note }))
        .to.emit(fx.receipts, "ReceiptConfirmed")
        .withArgs(fx.monthlyKey.caseId, ethers.ZeroHash, fx.monthlyKey.period, ReceiptSource.Signature, note)
        .and.to.emit(fx.receipts, "DisputeResolved")
        .withArgs(
          fx.monthlyKey.caseId,
          ethers.ZeroHash,
          fx.monthlyKey.period,
          DisputeOutcome.ResolvedByBeneficiary,
          note,
        );
      expect(await receiptOf(fx, fx.monthlyKey)).to.deep.equal([ReceiptOutcome.Confirmed, ReceiptSource.Signature, t]);
      expect(await disputeOf(fx, fx.monthlyKey)).to.deep.equal([
        DisputeStatus.Resolved,
        fx.openedAt,
        fx.openedAt + WINDOW,
        DisputeOutcome.ResolvedByBeneficiary,
      ]);
      expect(await fx.receipts.openDisputeCount()).to.equal(0n);
      await expect(submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed))
        .to.be.revertedWithCustomError(fx.receipts, "LedgerReceiptExists")
        .withArgs(...tuple(fx.monthlyKey));
    });

    it("attestReceipt confirming an overdue disputed payout closes the dispute as ResolvedByBeneficiary", async function () {
      const fx = await loadFixture(disputed);
      await time.increase(WINDOW + 1);
      await expect(
        fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.monthlyKey, ReceiptOutcome.Confirmed, EVIDENCE),
      )
        .to.emit(fx.receipts, "DisputeResolved")
        .withArgs(
          fx.monthlyKey.caseId,
          ethers.ZeroHash,
          fx.monthlyKey.period,
          DisputeOutcome.ResolvedByBeneficiary,
          EVIDENCE,
        );
      expect(await fx.receipts.isOverdue(fx.monthlyKey)).to.equal(false);
    });

    it("submitReceipt confirming after an approver resolved the dispute records it and leaves the resolution as it was", async function () {
      const fx = await loadFixture(disputed);
      await fx.receipts
        .connect(fx.actors.approver)
        .resolveDispute(fx.monthlyKey, DisputeOutcome.PaymentProven, RESOLUTION);
      await expect(submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed))
        .to.emit(fx.receipts, "ReceiptConfirmed")
        .and.not.to.emit(fx.receipts, "DisputeResolved");
      expect((await disputeOf(fx, fx.monthlyKey))[3]).to.equal(DisputeOutcome.PaymentProven);
      expect((await receiptOf(fx, fx.monthlyKey))[0]).to.equal(ReceiptOutcome.Confirmed);
    });

    it("a reissued medical-bill payout: dispute, bank failure, Reissued, bill paid again, beneficiary confirms", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const { ledger, receipts, actors } = fx;
      await submit(fx, fx.billKey, ReceiptOutcome.NotReceived);
      await ledger.connect(actors.paymentAgent).reportFailure(fx.billKey, digest("account closed"));
      await receipts.connect(actors.approver).resolveDispute(fx.billKey, DisputeOutcome.Reissued, RESOLUTION);
      await expect(submit(fx, fx.billKey, ReceiptOutcome.Confirmed))
        .to.be.revertedWithCustomError(receipts, "LedgerPayoutNotFound")
        .withArgs(...tuple(fx.billKey));
      await ledger
        .connect(actors.medicalOffice)
        .certifyMedicalBill(fx.billId, fx.billKey.caseId, 500_000n, digest("bill"));
      expect(await currentPeriod(ledger)).to.equal(Number(fx.billKey.period));
      await expect(submit(fx, fx.billKey, ReceiptOutcome.Confirmed)).to.emit(receipts, "ReceiptConfirmed");
      expect((await disputeOf(fx, fx.billKey))[3]).to.equal(DisputeOutcome.Reissued);
    });

    it("openDisputeCount and openDisputeAt list exactly the open disputes", async function () {
      const fx = await loadFixture(disputed);
      await fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.billKey, ReceiptOutcome.NotReceived, EVIDENCE);
      const listed = async () => {
        const n = Number(await fx.receipts.openDisputeCount());
        const keys = [];
        for (let i = 0; i < n; i++) {
          const k = await fx.receipts.openDisputeAt(i);
          keys.push([k.caseId, k.period, k.eventId]);
        }
        return keys;
      };
      expect(await listed()).to.have.deep.members([tuple(fx.monthlyKey), tuple(fx.billKey)]);
      await fx.receipts.connect(fx.actors.approver).resolveDispute(fx.monthlyKey, DisputeOutcome.Dismissed, RESOLUTION);
      expect(await listed()).to.deep.equal([tuple(fx.billKey)]);
      await expect(fx.receipts.openDisputeAt(1)).to.be.revertedWithPanic(0x32);
    });
  });

  describe("views", function () {
    it("receiptOf, disputeOf and isOverdue of a payout nobody answered are empty", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const unknown = { ...fx.monthlyKey, caseId: digest("no-such-case") };
      for (const key of [fx.monthlyKey, fx.billKey, unknown]) {
        expect(await receiptOf(fx, key)).to.deep.equal([0, 0, 0]);
        expect(await disputeOf(fx, key)).to.deep.equal([0, 0, 0, 0]);
        expect(await fx.receipts.isOverdue(key)).to.equal(false);
      }
      expect(await fx.receipts.openDisputeCount()).to.equal(0n);
    });

    it("unconfirmedPayouts lists a case's payouts without a Confirmed receipt; a dispute does not count as one", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const { ledger, receipts, dibao } = fx;
      await nextPeriod(ledger);
      const second = { ...fx.monthlyKey, period: BigInt(await currentPeriod(ledger)) };
      await ledger.executePayouts(dibao.programmeId, second.period, [dibao.caseId]);
      const unconfirmed = async (caseId: string) =>
        (await receipts.unconfirmedPayouts(caseId)).map((k) => [k.caseId, k.period, k.eventId]);

      expect(await unconfirmed(dibao.caseId)).to.have.deep.members([tuple(fx.monthlyKey), tuple(second)]);
      await submit(fx, second, ReceiptOutcome.NotReceived);
      expect(await unconfirmed(dibao.caseId)).to.have.deep.members([tuple(fx.monthlyKey), tuple(second)]);
      await submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed);
      expect(await unconfirmed(dibao.caseId)).to.deep.equal([tuple(second)]);
      await submit(fx, second, ReceiptOutcome.Confirmed);
      expect(await unconfirmed(dibao.caseId)).to.deep.equal([]);

      expect(await unconfirmed(fx.billKey.caseId)).to.deep.equal([tuple(fx.billKey)]);
      await fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.billKey, ReceiptOutcome.Confirmed, EVIDENCE);
      expect(await unconfirmed(fx.billKey.caseId)).to.deep.equal([]);
      expect(await unconfirmed(digest("no-such-case"))).to.deep.equal([]);
    });
  });

  describe("gas", function () {
    // Measured: 78,733 (signature, monthly) and 77,709 (attestation, event payout) for a confirmation,
    // about 181,000 for opening a dispute on a monthly payout. A confirmation writes one new storage slot.
    it("submitReceipt and attestReceipt of a confirmation stay under 90,000 gas", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const bySignature = await (await submit(fx, fx.monthlyKey, ReceiptOutcome.Confirmed)).wait();
      const byAttestation = await (
        await fx.receipts.connect(fx.actors.anchorer).attestReceipt(fx.billKey, ReceiptOutcome.Confirmed, EVIDENCE)
      ).wait();
      expect(bySignature!.gasUsed).to.be.lessThan(90_000n);
      expect(byAttestation!.gasUsed).to.be.lessThan(90_000n);
    });

    it("submitReceipt opening a dispute on a monthly payout stays under 200,000 gas", async function () {
      const fx = await loadFixture(deployReceiptScenario);
      const opened = await (await submit(fx, fx.monthlyKey, ReceiptOutcome.NotReceived)).wait();
      expect(opened!.gasUsed).to.be.lessThan(200_000n);
    });
  });
});
