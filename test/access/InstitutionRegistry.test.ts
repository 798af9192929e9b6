import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { Role } from "../../lib/roles";
import { contains } from "../../lib/regions";
import { INSTITUTIONS, REGION, deployRegistryAndLedger, digest } from "../helpers/fixture";

const bit = (role: Role) => 1 << role;
const ALL_ROLES = [
  Role.Caseworker,
  Role.Approver,
  Role.Finance,
  Role.PaymentAgent,
  Role.MedicalOffice,
  Role.Auditor,
  Role.Anchorer,
  Role.Keeper,
];
const EVERY_ROLE_MASK = ALL_ROLES.reduce((mask, r) => mask | bit(r), 0);

describe("InstitutionRegistry", function () {
  describe("registerInstitution", function () {
    it("registers an account with role, region and key, emits InstitutionRegistered and lists it", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      const before = await registry.roleMemberCount(Role.Auditor);
      const tx = registry.registerInstitution(actors.stranger.address, Role.Auditor, REGION.city, digest("k"));
      await expect(tx)
        .to.emit(registry, "InstitutionRegistered")
        .withArgs(actors.stranger.address, Role.Auditor, REGION.city, digest("k"));
      const inst = await registry.institution(actors.stranger.address);
      expect([inst.role, inst.active, inst.region, inst.keyDigest]).to.deep.equal([
        BigInt(Role.Auditor),
        true,
        REGION.city,
        digest("k"),
      ]);
      expect(await registry.roleMemberCount(Role.Auditor)).to.equal(before + 1n);
      expect(await registry.roleMember(Role.Auditor, before)).to.equal(actors.stranger.address);
    });

    it("registers a village-level institution (a twelve-digit code)", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.registerInstitution(actors.stranger.address, Role.Caseworker, 110105001001n, digest("k")))
        .to.emit(registry, "InstitutionRegistered")
        .withArgs(actors.stranger.address, Role.Caseworker, 110105001001n, digest("k"));
    });

    it("reverts with RegistryInstitutionExists when the account is already registered, whatever the role", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.registerInstitution(actors.approver.address, Role.Auditor, REGION.central, digest("k")))
        .to.be.revertedWithCustomError(registry, "RegistryInstitutionExists")
        .withArgs(actors.approver.address);
    });

    it("reverts with RegistryInvalidRole for role None", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.registerInstitution(actors.stranger.address, Role.None, REGION.county, digest("k")))
        .to.be.revertedWithCustomError(registry, "RegistryInvalidRole")
        .withArgs(Role.None);
    });

    for (const region of [1n, 100000n, 830000n, 110005n, 110105000000n, 110105000999n, 1_000_000_000_000n]) {
      it(`reverts with RegistryInvalidRegion for the malformed code ${region}`, async function () {
        const { registry, actors } = await loadFixture(deployRegistryAndLedger);
        await expect(registry.registerInstitution(actors.stranger.address, Role.Caseworker, region, digest("k")))
          .to.be.revertedWithCustomError(registry, "RegistryInvalidRegion")
          .withArgs(region);
      });
    }

    it("reverts with RegistryZeroValue for the zero address or a zero key digest", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(
        registry.registerInstitution(ethers.ZeroAddress, Role.Caseworker, REGION.county, digest("k")),
      ).to.be.revertedWithCustomError(registry, "RegistryZeroValue");
      await expect(
        registry.registerInstitution(actors.stranger.address, Role.Caseworker, REGION.county, ethers.ZeroHash),
      ).to.be.revertedWithCustomError(registry, "RegistryZeroValue");
    });

    it("reverts with OwnableUnauthorizedAccount for anyone but the administrator", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      for (const who of [actors.stranger, actors.approver, actors.centralFinance]) {
        await expect(
          registry
            .connect(who)
            .registerInstitution(actors.beneficiary.address, Role.Caseworker, REGION.county, digest("k")),
        )
          .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
          .withArgs(who.address);
      }
    });
  });

  describe("role members", function () {
    it("lists every registered institution under its role and nowhere else", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      for (const role of [Role.None, ...ALL_ROLES]) {
        const expected = INSTITUTIONS.filter(([, r]) => r === role).map(([name]) => actors[name].address);
        const count = await registry.roleMemberCount(role);
        const listed: string[] = [];
        for (let i = 0n; i < count; i++) listed.push(await registry.roleMember(role, i));
        expect(listed, Role[role]).to.deep.equal(expected);
      }
    });

    it("reverts (array out of bounds) when the index is past the last member", async function () {
      const { registry } = await loadFixture(deployRegistryAndLedger);
      const count = await registry.roleMemberCount(Role.Keeper);
      await expect(registry.roleMember(Role.Keeper, count)).to.be.revertedWithPanic(0x32);
    });

    it("keeps a deactivated institution listed (it still holds its role)", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await registry.setActive(actors.keeper.address, false);
      expect(await registry.roleMemberCount(Role.Keeper)).to.equal(1n);
      expect(await registry.roleMember(Role.Keeper, 0)).to.equal(actors.keeper.address);
    });
  });

  describe("setActive", function () {
    it("deactivates and reactivates an institution with InstitutionActiveSet", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.setActive(actors.approver.address, false))
        .to.emit(registry, "InstitutionActiveSet")
        .withArgs(actors.approver.address, false);
      expect((await registry.institution(actors.approver.address)).active).to.equal(false);
      await expect(registry.setActive(actors.approver.address, true))
        .to.emit(registry, "InstitutionActiveSet")
        .withArgs(actors.approver.address, true);
      expect((await registry.institution(actors.approver.address)).active).to.equal(true);
    });

    it("reverts with RegistryUnknownInstitution for an unregistered account", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.setActive(actors.stranger.address, false))
        .to.be.revertedWithCustomError(registry, "RegistryUnknownInstitution")
        .withArgs(actors.stranger.address);
    });

    it("reverts with OwnableUnauthorizedAccount for a non-owner", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.connect(actors.approver).setActive(actors.approver.address, false))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(actors.approver.address);
    });
  });

  describe("rotateKey and keyDigestAt", function () {
    it("emits InstitutionKeyRotated with the old and new digests and the block time", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      const at = (await time.latest()) + 100;
      await time.setNextBlockTimestamp(at);
      await expect(registry.rotateKey(actors.approver.address, digest("new")))
        .to.emit(registry, "InstitutionKeyRotated")
        .withArgs(actors.approver.address, digest("sm2-key:approver"), digest("new"), at);
      expect((await registry.institution(actors.approver.address)).keyDigest).to.equal(digest("new"));
    });

    it("answers keyDigestAt with the key current at each moment across two rotations", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      const who = actors.stranger.address;
      const t0 = (await time.latest()) + 1000;
      await time.setNextBlockTimestamp(t0);
      await registry.registerInstitution(who, Role.Auditor, REGION.central, digest("k0"));
      const t1 = t0 + 30 * 86400;
      await time.setNextBlockTimestamp(t1);
      await registry.rotateKey(who, digest("k1"));
      const t2 = t1 + 365 * 86400;
      await time.setNextBlockTimestamp(t2);
      await registry.rotateKey(who, digest("k2"));

      const expected: Array<[number, string]> = [
        [0, ethers.ZeroHash],
        [t0 - 1, ethers.ZeroHash],
        [t0, digest("k0")],
        [t1 - 1, digest("k0")],
        [t1, digest("k1")],
        [t1 + 1, digest("k1")],
        [t2 - 1, digest("k1")],
        [t2, digest("k2")],
        [t2 + 10 * 365 * 86400, digest("k2")],
      ];
      for (const [ts, key] of expected) expect(await registry.keyDigestAt(who, ts), `at ${ts}`).to.equal(key);
    });

    it("answers keyDigestAt with zero for an account never registered", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      expect(await registry.keyDigestAt(actors.stranger.address, await time.latest())).to.equal(ethers.ZeroHash);
    });

    it("reverts with RegistryZeroValue for a zero digest and RegistryUnknownInstitution for an unknown account", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.rotateKey(actors.approver.address, ethers.ZeroHash)).to.be.revertedWithCustomError(
        registry,
        "RegistryZeroValue",
      );
      await expect(registry.rotateKey(actors.stranger.address, digest("k")))
        .to.be.revertedWithCustomError(registry, "RegistryUnknownInstitution")
        .withArgs(actors.stranger.address);
    });

    it("reverts with OwnableUnauthorizedAccount when an institution rotates its own key", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.connect(actors.approver).rotateKey(actors.approver.address, digest("k")))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(actors.approver.address);
    });
  });

  describe("pause and unpause", function () {
    it("pauses with LedgerPaused and unpauses with LedgerUnpaused, naming the administrator", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      expect(await registry.paused()).to.equal(false);
      await expect(registry.pause()).to.emit(registry, "LedgerPaused").withArgs(actors.admin.address);
      expect(await registry.paused()).to.equal(true);
      await expect(registry.unpause()).to.emit(registry, "LedgerUnpaused").withArgs(actors.admin.address);
      expect(await registry.paused()).to.equal(false);
    });

    it("reverts with OwnableUnauthorizedAccount when a non-owner pauses or unpauses", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.connect(actors.auditor).pause())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(actors.auditor.address);
      await registry.pause();
      await expect(registry.connect(actors.auditor).unpause())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(actors.auditor.address);
    });
  });

  describe("two-step ownership transfer", function () {
    it("refuses to renounce ownership (RegistryRenounceDisabled); a stranger gets OwnableUnauthorizedAccount", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.renounceOwnership()).to.be.revertedWithCustomError(registry, "RegistryRenounceDisabled");
      await expect(registry.connect(actors.stranger).renounceOwnership())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(actors.stranger.address);
      expect(await registry.owner()).to.equal(actors.admin.address);
    });

    it("moves ownership only when the new owner accepts", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      const { admin, auditor: next, stranger } = actors;
      await expect(registry.transferOwnership(next.address))
        .to.emit(registry, "OwnershipTransferStarted")
        .withArgs(admin.address, next.address);
      expect(await registry.owner()).to.equal(admin.address);
      expect(await registry.pendingOwner()).to.equal(next.address);

      await expect(registry.connect(stranger).acceptOwnership())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(registry.connect(next).acceptOwnership())
        .to.emit(registry, "OwnershipTransferred")
        .withArgs(admin.address, next.address);
      expect(await registry.owner()).to.equal(next.address);
      expect(await registry.pendingOwner()).to.equal(ethers.ZeroAddress);

      await expect(registry.pause())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(admin.address);
      await expect(registry.connect(next).pause()).to.emit(registry, "LedgerPaused").withArgs(next.address);
    });

    it("reverts with OwnableUnauthorizedAccount when a non-owner starts a transfer", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await expect(registry.connect(actors.stranger).transferOwnership(actors.stranger.address))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(actors.stranger.address);
    });
  });

  describe("authorize", function () {
    it("accepts each institution for exactly its own role's bit in its own region, and rejects every other bit", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      for (const [name, role, region] of INSTITUTIONS) {
        const account = actors[name].address;
        for (const asked of ALL_ROLES) {
          const call = registry.authorize(account, bit(asked), region);
          if (asked === role) {
            expect(await call, `${name} as ${Role[asked]}`).to.deep.equal([BigInt(role), region]);
          } else {
            await expect(call, `${name} as ${Role[asked]}`)
              .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
              .withArgs(account, bit(asked));
          }
        }
        expect(await registry.authorize(account, EVERY_ROLE_MASK, region)).to.deep.equal([BigInt(role), region]);
      }
    });

    it("accepts a target region inside the actor's subtree and rejects one outside with LedgerUnauthorizedRegion", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      const targets = [...Object.values(REGION), 110105002000n, 110105001001n, 120000n, 110200n];
      for (const [name, role, region] of INSTITUTIONS) {
        const account = actors[name].address;
        for (const target of targets) {
          const call = registry.authorize(account, bit(role), target);
          if (contains(region, target)) {
            expect(await call, `${name} in ${target}`).to.deep.equal([BigInt(role), region]);
          } else {
            await expect(call, `${name} in ${target}`)
              .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRegion")
              .withArgs(account, target);
          }
        }
      }
    });

    it("rejects an inactive institution with LedgerUnauthorizedRole and accepts it again once reactivated", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await registry.setActive(actors.approver.address, false);
      await expect(registry.authorize(actors.approver.address, bit(Role.Approver), REGION.county))
        .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
        .withArgs(actors.approver.address, bit(Role.Approver));
      await registry.setActive(actors.approver.address, true);
      expect(await registry.authorize(actors.approver.address, bit(Role.Approver), REGION.county)).to.deep.equal([
        BigInt(Role.Approver),
        REGION.county,
      ]);
    });

    it("rejects an unregistered account with LedgerUnauthorizedRole for any mask", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      for (const mask of [bit(Role.Caseworker), EVERY_ROLE_MASK, bit(Role.None), 0xffff]) {
        await expect(registry.authorize(actors.stranger.address, mask, REGION.county))
          .to.be.revertedWithCustomError(registry, "LedgerUnauthorizedRole")
          .withArgs(actors.stranger.address, mask);
      }
    });

    it("rejects everyone with LedgerPausedError while paused, valid callers included", async function () {
      const { registry, actors } = await loadFixture(deployRegistryAndLedger);
      await registry.pause();
      for (const [name, role, region] of INSTITUTIONS) {
        await expect(registry.authorize(actors[name].address, bit(role), region)).to.be.revertedWithCustomError(
          registry,
          "LedgerPausedError",
        );
      }
      await registry.unpause();
      expect(await registry.authorize(actors.caseworker.address, bit(Role.Caseworker), REGION.township)).to.deep.equal([
        BigInt(Role.Caseworker),
        REGION.township,
      ]);
    });
  });
});
