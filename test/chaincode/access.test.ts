import { expect } from "chai";
import { fabricAccount, roleAttribute, roleFromAttribute } from "../../lib/fabric-identity";
import { Role } from "../../lib/roles";
import { InMemoryPeer } from "./peer";
import { digest, json, Ledger, PROGRAMMES, REGION, registered, START, type Ids } from "./fixture";

const ZERO32 = `0x${"0".repeat(64)}`;
const ZERO_ACCOUNT = `0x${"0".repeat(40)}`;

describe("chaincode: identities, the registry and authorisation", function () {
  let ledger: Ledger;
  let ids: Ids;

  before(async function () {
    ledger = await registered();
    ids = ledger.ids;
  });

  it("derives the account from MSP ID and public key, as lib/fabric-identity.ts says", async function () {
    const id = ids.caseworker;
    expect(id.account).to.match(/^0x[0-9a-f]{40}$/);
    expect(fabricAccount(id.mspId, id.certificate)).to.equal(id.account);
    expect(fabricAccount("Org2MSP", id.certificate)).to.not.equal(id.account);
    expect(roleFromAttribute(roleAttribute(Role.PaymentAgent))).to.equal(Role.PaymentAgent);
    expect(roleFromAttribute("admin")).to.equal(Role.None);
    expect(roleFromAttribute("constructor")).to.equal(Role.None);
  });

  it("registers institutions with events and answers institution()", async function () {
    const inst = await ledger.query<Record<string, unknown>>("institution", { account: ids.approver.account });
    expect(inst).to.deep.equal({
      role: Role.Approver,
      active: true,
      region: "110105",
      keyDigest: digest("sm2-key:approver"),
    });
    const unknown = await ledger.query("institution", { account: ids.stranger.account });
    expect(unknown).to.deep.equal({ role: 0, active: false, region: "0", keyDigest: ZERO32 });
    expect(await ledger.query<string[]>("roleMembers", { role: Role.Finance })).to.have.members(
      ["centralFinance", "provinceFinance", "cityFinance", "countyFinance"].map(
        (n) => ids[n as "centralFinance"].account,
      ),
    );
  });

  it("the first role=admin identity becomes the owner; no one else administers", async function () {
    const peer = await InMemoryPeer.start({ now: START });
    const fresh = new Ledger(peer, {} as Ids);
    const notAdmin = await peer.identity("finance", { role: "finance", region: "0" });
    const admin = await peer.identity("admin", { role: "admin", region: "0" });
    const admin2 = await peer.identity("admin2", { role: "admin", region: "0" });
    const reg = { account: notAdmin.account, role: Role.Finance, region: 0n, keyDigest: digest("k") };
    await fresh.expectRefused(notAdmin, "registerInstitution", reg, "OwnableUnauthorizedAccount", {
      account: notAdmin.account,
    });
    const first = await fresh.submit(admin, "registerInstitution", reg);
    expect(first.events.map((e) => e.name)).to.deep.equal(["OwnershipTransferred", "InstitutionRegistered"]);
    expect(first.events[0].args).to.deep.equal({ previousOwner: ZERO_ACCOUNT, newOwner: admin.account });
    await fresh.expectRefused(admin2, "pause", {}, "OwnableUnauthorizedAccount", { account: admin2.account });
    // Ownable2Step: the successor must accept.
    await fresh.submit(admin, "transferOwnership", { newOwner: admin2.account });
    await fresh.expectRefused(notAdmin, "acceptOwnership", {}, "OwnableUnauthorizedAccount");
    const accepted = await fresh.submit(admin2, "acceptOwnership");
    expect(accepted.events).to.deep.equal([
      { name: "OwnershipTransferred", args: { previousOwner: admin.account, newOwner: admin2.account } },
    ]);
    await fresh.expectRefused(admin, "pause", {}, "OwnableUnauthorizedAccount");
    await fresh.expectRefused(admin2, "renounceOwnership", {}, "RegistryRenounceDisabled");
  });

  it("refuses bad registrations with the registry's errors", async function () {
    const base = {
      account: ids.stranger.account,
      role: Role.Caseworker,
      region: REGION.township,
      keyDigest: digest("k"),
    };
    await ledger.expectRefused("admin", "registerInstitution", { ...base, keyDigest: ZERO32 }, "RegistryZeroValue");
    await ledger.expectRefused("admin", "registerInstitution", { ...base, account: ZERO_ACCOUNT }, "RegistryZeroValue");
    await ledger.expectRefused("admin", "registerInstitution", { ...base, role: 0 }, "RegistryInvalidRole", {
      role: 0,
    });
    await ledger.expectRefused("admin", "registerInstitution", { ...base, region: 999n }, "RegistryInvalidRegion", {
      region: 999n,
    });
    await ledger.expectRefused(
      "admin",
      "registerInstitution",
      { ...base, account: ids.approver.account },
      "RegistryInstitutionExists",
      {
        account: ids.approver.account,
      },
    );
    await ledger.expectRefused(
      "admin",
      "setInstitutionActive",
      { account: ids.stranger.account, active: false },
      "RegistryUnknownInstitution",
    );
    await ledger.expectRefused("admin", "registerInstitution", { ...base, role: 10 }, "InvalidArgument");
    await ledger.expectRefused("admin", "registerInstitution", { ...base, account: "0x1234" }, "InvalidArgument", {
      argument: "account",
      value: "0x1234",
    });
  });

  it("refuses callers that are unregistered, hold another role, or are inactive, naming the roles mask", async function () {
    const rule = PROGRAMMES.dibao;
    const mask = 1 << Role.Approver;
    await ledger.expectRefused("stranger", "createProgramme", rule, "LedgerUnauthorizedRole", {
      account: ids.stranger.account,
      roles: mask,
    });
    await ledger.expectRefused("caseworker", "createProgramme", rule, "LedgerUnauthorizedRole", {
      account: ids.caseworker.account,
      roles: mask,
    });
    await ledger.submit("admin", "setInstitutionActive", { account: ids.approver2.account, active: false });
    await ledger.expectRefused("approver2", "createProgramme", rule, "LedgerUnauthorizedRole");
    await ledger.submit("admin", "setInstitutionActive", { account: ids.approver2.account, active: true });
    await ledger.submit("approver2", "createProgramme", rule);
  });

  it("refuses a registered key whose certificate says another role or region", async function () {
    // A certificate issued as caseworker, its key registered as an approver: the attributes disagree.
    const mixed = await ledger.peer.identity("mixed", { role: "caseworker", region: REGION.county.toString() });
    await ledger.submit("admin", "registerInstitution", {
      account: mixed.account,
      role: Role.Approver,
      region: REGION.county,
      keyDigest: digest("m"),
    });
    await ledger.expectRefused(mixed, "createProgramme", PROGRAMMES.dibao, "LedgerUnauthorizedRole");
    const elsewhere = await ledger.peer.identity("elsewhere", {
      role: "approver",
      region: REGION.otherCounty.toString(),
    });
    await ledger.submit("admin", "registerInstitution", {
      account: elsewhere.account,
      role: Role.Approver,
      region: REGION.county,
      keyDigest: digest("e"),
    });
    await ledger.expectRefused(elsewhere, "createProgramme", PROGRAMMES.dibao, "LedgerUnauthorizedRole");
  });

  it("refuses a caller outside its region's subtree", async function () {
    const rule = { ...PROGRAMMES.dibao, region: REGION.county };
    await ledger.expectRefused("otherApprover", "createProgramme", rule, "LedgerUnauthorizedRegion", {
      account: ids.otherApprover.account,
      region: REGION.county,
    });
  });

  it("pauses every write that needs an actor, and the permissionless runs", async function () {
    const paused = await ledger.submit("admin", "pause");
    expect(paused.events).to.deep.equal([{ name: "LedgerPaused", args: { by: ids.admin.account } }]);
    expect(await ledger.query("isPaused")).to.equal(true);
    await ledger.expectRefused("approver", "createProgramme", PROGRAMMES.dibao, "LedgerPausedError");
    await ledger.expectRefused(
      "keeper",
      "executePayouts",
      { programmeId: 1, period: ledger.period(), caseIds: [] },
      "LedgerPausedError",
    );
    await ledger.submit("admin", "unpause");
    expect(await ledger.query("isPaused")).to.equal(false);
  });

  it("rotates keys with their validity and keeps the old digest for earlier times", async function () {
    const account = ids.anchorer.account;
    const before = ledger.peer.now();
    ledger.advance(100);
    const r = await ledger.submit("admin", "rotateInstitutionKey", { account, keyDigest: digest("new-key") });
    expect(r.events[0]).to.deep.equal({
      name: "InstitutionKeyRotated",
      args: {
        account,
        oldKeyDigest: digest("sm2-key:anchorer"),
        newKeyDigest: digest("new-key"),
        validFrom: before + 100,
      },
    });
    expect(await ledger.query("keyDigestAt", { account, timestamp: before })).to.equal(digest("sm2-key:anchorer"));
    expect(await ledger.query("keyDigestAt", { account, timestamp: before + 100 })).to.equal(digest("new-key"));
    expect(await ledger.query("keyDigestAt", { account, timestamp: 0 })).to.equal(ZERO32);
  });

  it("refuses malformed arguments before any rule", async function () {
    const peer = ledger.peer;
    await expect(peer.submit(ids.approver, "createProgramme", ["not json"])).to.be.rejectedWith(/^RL:InvalidArgument/);
    await expect(peer.submit(ids.approver, "createProgramme", [json([1])])).to.be.rejectedWith(/^RL:InvalidArgument/);
    await expect(
      peer.submit(ids.approver, "createProgramme", [json({ ...PROGRAMMES.dibao, ratioBps: 70_000 })]),
    ).to.be.rejectedWith(/^RL:InvalidArgument \{"argument":"ratioBps"/);
    await expect(peer.submit(ids.approver, "createProgramme", [])).to.be.rejectedWith(/Expected 1 parameters/);
  });
});
