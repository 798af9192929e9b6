import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import {
  CryptoError,
  Sm2PrivateKey,
  Sm2PublicKey,
  hmacSm3,
  keyDigest,
  sm2Sign,
  sm2Verify,
  unwrapDataKey,
  wrapDataKey,
} from "../../../gateway/src/crypto";
import { Keyring, KeyringError } from "../../../gateway/src/keys";
import type { Store } from "../../../gateway/src/store";
import { sealedRecord, sqliteHarness, storeErrorCode, uid } from "../store/harness";

/** The KeyringError code `promise` rejects with (fails if it resolves or rejects with something else). */
async function keyringErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof KeyringError)) throw error;
    return error.code;
  }
  throw new Error("expected a KeyringError, the call succeeded");
}

function syncKeyringErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof KeyringError)) throw error;
    return error.code;
  }
  throw new Error("expected a KeyringError, the call succeeded");
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describe("keys/keyring", function () {
  const harnesses: ReturnType<typeof sqliteHarness>[] = [];
  const folders: string[] = [];

  /** A fresh deployment: an empty store and a key folder path that does not exist yet. */
  async function deployment(): Promise<{ store: Store; dir: string }> {
    const harness = sqliteHarness();
    harnesses.push(harness);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "relief-keys-"));
    folders.push(root);
    return { store: await harness.open(), dir: path.join(root, ".relief", "keys") };
  }

  after(async function () {
    for (const harness of harnesses) await harness.destroy();
    for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
  });

  describe("open", function () {
    it("creates the key folder 0700 and the three secrets 0600 on first open", async function () {
      const { store, dir } = await deployment();
      const keyring = await Keyring.open({ dir, store });

      expect(keyring.dir).to.equal(path.resolve(dir));
      expect(modeOf(dir)).to.equal(0o700);
      expect(modeOf(path.join(dir, "holders"))).to.equal(0o700);
      for (const name of ["pseudonym.key", "token.key", "gateway-signing.pem"]) {
        expect(modeOf(path.join(dir, name)), name).to.equal(0o600);
      }
      expect(fs.readFileSync(path.join(dir, "pseudonym.key"))).to.have.length(32);
      expect(fs.readFileSync(path.join(dir, "token.key"))).to.have.length(32);
      expect(fs.readFileSync(path.join(dir, "pseudonym.key"))).not.to.deep.equal(
        fs.readFileSync(path.join(dir, "token.key")),
      );
      expect(fs.readdirSync(dir).sort()).to.deep.equal([
        "gateway-signing.pem",
        "holders",
        "pseudonym.key",
        "token.key",
      ]);
    });

    it("secrets persist across re-open: same pseudonym, secret digest and signing key; another deployment differs", async function () {
      const { store, dir } = await deployment();
      const first = await Keyring.open({ dir, store });
      const second = await Keyring.open({ dir, store });
      const other = await Keyring.open(await deployment());
      const id = "110105199003071234";

      expect(second.pseudonym(id)).to.equal(first.pseudonym(id));
      expect(second.digestSecret("api-key", "s3cret")).to.equal(first.digestSecret("api-key", "s3cret"));
      expect(second.signingPublicKeyPem).to.equal(first.signingPublicKeyPem);
      expect(other.pseudonym(id)).not.to.equal(first.pseudonym(id));
      expect(other.digestSecret("api-key", "s3cret")).not.to.equal(first.digestSecret("api-key", "s3cret"));
      expect(other.signingPublicKeyPem).not.to.equal(first.signingPublicKeyPem);
    });

    it("two opens of a fresh folder at once agree on one set of secrets", async function () {
      const { store, dir } = await deployment();
      const keyrings = await Promise.all([1, 2, 3, 4].map(() => Keyring.open({ dir, store })));
      const pseudonyms = new Set(keyrings.map((k) => k.pseudonym("11010519491231002X")));
      const signers = new Set(keyrings.map((k) => k.signingPublicKeyPem));
      expect(pseudonyms.size).to.equal(1);
      expect(signers.size).to.equal(1);
      expect(fs.readdirSync(dir).filter((name) => name.endsWith(".tmp"))).to.deep.equal([]);
    });

    for (const [name, mode] of [
      ["pseudonym.key", 0o640],
      ["token.key", 0o604],
      ["gateway-signing.pem", 0o660],
    ] as const) {
      it(`a ${name} readable or writable by group or others (${mode.toString(8)}) is refused: KEY_FILE_INSECURE`, async function () {
        const { store, dir } = await deployment();
        await Keyring.open({ dir, store });
        fs.chmodSync(path.join(dir, name), mode);
        expect(await keyringErrorCode(Keyring.open({ dir, store }))).to.equal("KEY_FILE_INSECURE");
        fs.chmodSync(path.join(dir, name), 0o600);
        await Keyring.open({ dir, store });
      });
    }

    it("a key folder writable by group or others is refused: KEY_FILE_INSECURE", async function () {
      const { store, dir } = await deployment();
      await Keyring.open({ dir, store });
      fs.chmodSync(dir, 0o770);
      expect(await keyringErrorCode(Keyring.open({ dir, store }))).to.equal("KEY_FILE_INSECURE");
      fs.chmodSync(dir, 0o700);
    });

    it("a secret of the wrong length or a signing file that is not an SM2 key is KEY_FILE_INVALID", async function () {
      const { store, dir } = await deployment();
      await Keyring.open({ dir, store });
      const pseudonymFile = path.join(dir, "pseudonym.key");
      const good = fs.readFileSync(pseudonymFile);
      fs.writeFileSync(pseudonymFile, good.subarray(0, 31), { mode: 0o600 });
      expect(await keyringErrorCode(Keyring.open({ dir, store }))).to.equal("KEY_FILE_INVALID");
      fs.writeFileSync(pseudonymFile, good, { mode: 0o600 });

      fs.writeFileSync(
        path.join(dir, "gateway-signing.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      );
      expect(await keyringErrorCode(Keyring.open({ dir, store }))).to.equal("KEY_FILE_INVALID");
    });

    it("a secret missing once the store holds records is KEY_FILE_INVALID, not silently replaced", async function () {
      const { store, dir } = await deployment();
      const keyring = await Keyring.open({ dir, store });
      const id = "110105199003071234";
      const before = keyring.pseudonym(id);
      await store.insertRecord(sealedRecord().record);
      const file = path.join(dir, "pseudonym.key");
      const saved = fs.readFileSync(file);
      fs.unlinkSync(file);

      expect(await keyringErrorCode(Keyring.open({ dir, store }))).to.equal("KEY_FILE_INVALID");
      expect(fs.existsSync(file)).to.equal(false);

      fs.writeFileSync(file, saved, { mode: 0o600 });
      expect((await Keyring.open({ dir, store })).pseudonym(id)).to.equal(before);
    });

    it("the signing key is in gateway-signing.pem and signs what its public PEM verifies", async function () {
      const { store, dir } = await deployment();
      const keyring = await Keyring.open({ dir, store });
      const fromFile = Sm2PrivateKey.fromPem(fs.readFileSync(path.join(dir, "gateway-signing.pem"), "utf8"));
      expect(fromFile.publicKey.equals(keyring.signingKey.publicKey)).to.equal(true);
      const signature = sm2Sign(keyring.signingKey, "receipt");
      expect(sm2Verify(Sm2PublicKey.fromPem(keyring.signingPublicKeyPem), "receipt", signature)).to.equal(true);
    });

    it("inspect and JSON of a keyring show no key material", async function () {
      const { store, dir } = await deployment();
      const keyring = await Keyring.open({ dir, store });
      const secrets = ["pseudonym.key", "token.key"].map((n) => fs.readFileSync(path.join(dir, n)).toString("hex"));
      secrets.push(keyring.signingKey.toHex());
      for (const shown of [inspect(keyring, { showHidden: true, depth: 10 }), JSON.stringify(keyring)]) {
        for (const secret of secrets) expect(shown).not.to.include(secret);
      }
    });
  });

  describe("pseudonym and digestSecret", function () {
    let keyring: Keyring;
    let dir: string;
    before(async function () {
      const d = await deployment();
      dir = d.dir;
      keyring = await Keyring.open(d);
    });

    it("pseudonym: HMAC-SM3 under pseudonym.key of the labelled, trimmed, upper-cased ID, as a bytes32", function () {
      const key = fs.readFileSync(path.join(dir, "pseudonym.key"));
      const expected = "0x" + hmacSm3(key, "relief-pseudonym-v1\0" + "11010519491231002X").toString("hex");
      expect(keyring.pseudonym("11010519491231002X")).to.equal(expected);
      expect(expected).to.match(/^0x[0-9a-f]{64}$/);
    });

    it("pseudonym: a lowercase check digit x and surrounding spaces give the same pseudonym; another ID another", function () {
      const upper = keyring.pseudonym("11010519491231002X");
      expect(keyring.pseudonym("11010519491231002x")).to.equal(upper);
      expect(keyring.pseudonym("  11010519491231002x\n")).to.equal(upper);
      expect(keyring.pseudonym("110105194912310021")).not.to.equal(upper);
    });

    it("pseudonym: an empty ID is INVALID_ARGUMENT", function () {
      expect(syncKeyringErrorCode(() => keyring.pseudonym("   "))).to.equal("INVALID_ARGUMENT");
    });

    it("digestSecret: HMAC-SM3 under token.key of relief-<purpose>-v1 ‖ 0 ‖ secret; purposes are kept apart", function () {
      const key = fs.readFileSync(path.join(dir, "token.key"));
      const expected = "0x" + hmacSm3(key, "relief-session-v1\0tok").toString("hex");
      expect(keyring.digestSecret("session", "tok")).to.equal(expected);
      expect(keyring.digestSecret("api-key", "tok")).not.to.equal(expected);
      // The token key is not the pseudonym key.
      expect(keyring.digestSecret("pseudonym", "X")).not.to.equal(keyring.pseudonym("X"));
    });

    it("digestSecret: a malformed purpose or an empty secret is INVALID_ARGUMENT", function () {
      for (const purpose of ["", "Api", "a\0b", "x y", "../x"]) {
        expect(
          syncKeyringErrorCode(() => keyring.digestSecret(purpose, "s")),
          purpose,
        ).to.equal("INVALID_ARGUMENT");
      }
      expect(syncKeyringErrorCode(() => keyring.digestSecret("session", ""))).to.equal("INVALID_ARGUMENT");
    });
  });

  describe("holders", function () {
    let store: Store;
    let dir: string;
    let keyring: Keyring;
    before(async function () {
      const d = await deployment();
      store = d.store;
      dir = d.dir;
      keyring = await Keyring.open(d);
    });
    const holderFile = (id: string) => path.join(dir, "holders", `${id}.pem`);
    const holderId = () => uid("office").toLowerCase();

    it("createHolder: a 0600 private key file, a store row with its public key and a KEK wrapped to it", async function () {
      const id = holderId();
      const created = await keyring.createHolder(id);

      expect(modeOf(holderFile(id))).to.equal(0o600);
      const privateKey = Sm2PrivateKey.fromPem(fs.readFileSync(holderFile(id), "utf8"));
      expect(privateKey.publicKey.toPem()).to.equal(created.publicKeyPem);
      expect(created.keyDigest).to.equal(keyDigest(created.publicKeyPem));
      const row = await store.getHolderKey(id);
      expect(row?.publicKeyPem).to.equal(created.publicKeyPem);
      expect(row?.status).to.equal("active");
      const kek = await keyring.kek(id);
      expect(kek).to.have.length(16);
      expect(unwrapDataKey(row!.wrappedKek, privateKey, 16)).to.deep.equal(kek);
      expect(await keyring.hasHolder(id)).to.equal(true);
      expect(await keyring.hasHolder(holderId())).to.equal(false);
    });

    it("kek: a keyring opened afresh unwraps the same KEK from the key file", async function () {
      const id = holderId();
      await keyring.createHolder(id);
      const again = await Keyring.open({ dir, store });
      expect(await again.kek(id)).to.deep.equal(await keyring.kek(id));
    });

    it("kek: returns a copy; wiping it does not wipe the cached KEK", async function () {
      const id = holderId();
      await keyring.createHolder(id);
      const first = await keyring.kek(id);
      const copy = Buffer.from(first);
      first.fill(0);
      expect(await keyring.kek(id)).to.deep.equal(copy);
    });

    it("createHolder: an existing holder is the store's CONFLICT and its key file is left alone", async function () {
      const id = holderId();
      await keyring.createHolder(id);
      const before = fs.readFileSync(holderFile(id));
      expect(await storeErrorCode(keyring.createHolder(id))).to.equal("CONFLICT");
      expect(fs.readFileSync(holderFile(id))).to.deep.equal(before);
      expect(fs.readdirSync(path.join(dir, "holders")).filter((n) => n.startsWith(`.${id}.`))).to.deep.equal([]);
    });

    it("createHolder: a malformed holder id is INVALID_ARGUMENT and writes nothing (no path traversal)", async function () {
      const listing = () => fs.readdirSync(path.dirname(dir)).concat(fs.readdirSync(path.join(dir, "holders")));
      const before = listing();
      for (const id of ["", "../escape", "a/b", ".hidden", "Upper", "-lead", "a".repeat(65), "a\0b", "a.pem"]) {
        expect(await keyringErrorCode(keyring.createHolder(id)), JSON.stringify(id)).to.equal("INVALID_ARGUMENT");
      }
      expect(listing()).to.deep.equal(before);
      expect(await keyring.hasHolder("../escape")).to.equal(false);
      expect(await keyringErrorCode(keyring.kek("../escape"))).to.equal("NO_SUCH_HOLDER");
    });

    it("kek: an unknown holder is NO_SUCH_HOLDER; one suspended or revoked through the keyring is HOLDER_INACTIVE at once, even when cached", async function () {
      expect(await keyringErrorCode(keyring.kek(holderId()))).to.equal("NO_SUCH_HOLDER");
      expect(await keyringErrorCode(keyring.setHolderStatus(holderId(), "suspended"))).to.equal("NO_SUCH_HOLDER");
      const id = holderId();
      await keyring.createHolder(id);
      const kek = await keyring.kek(id);
      expect((await keyring.setHolderStatus(id, "suspended")).status).to.equal("suspended");
      expect((await store.getHolderKey(id))?.status).to.equal("suspended");
      expect(await keyringErrorCode(keyring.kek(id))).to.equal("HOLDER_INACTIVE");
      await keyring.setHolderStatus(id, "active");
      expect(await keyring.kek(id)).to.deep.equal(kek);
      await keyring.setHolderStatus(id, "revoked");
      expect(await keyringErrorCode(keyring.kek(id))).to.equal("HOLDER_INACTIVE");
      expect(await keyringErrorCode(keyring.rotateHolder(id))).to.equal("HOLDER_INACTIVE");
    });

    it("kek cache: a status change made elsewhere (the store directly) is seen once holderCacheMs has passed, or after forgetHolder", async function () {
      let now = 1_000_000;
      const cached = await Keyring.open({ dir, store, holderCacheMs: 30_000, now: () => now });
      const id = holderId();
      await keyring.createHolder(id);
      const kek = await cached.kek(id);

      await store.setHolderKeyStatus(id, "suspended");
      now += 29_999;
      expect(await cached.kek(id)).to.deep.equal(kek); // trusted until the cache time is over
      now += 1;
      expect(await keyringErrorCode(cached.kek(id))).to.equal("HOLDER_INACTIVE");
      // An inactive holder is never cached: made active again, it is usable at once.
      await store.setHolderKeyStatus(id, "active");
      expect(await cached.kek(id)).to.deep.equal(kek);

      await store.setHolderKeyStatus(id, "suspended");
      expect(await cached.kek(id)).to.deep.equal(kek);
      cached.forgetHolder(id);
      expect(await keyringErrorCode(cached.kek(id))).to.equal("HOLDER_INACTIVE");

      // holderCacheMs 0: the row is read on every call.
      await store.setHolderKeyStatus(id, "active");
      const uncached = await Keyring.open({ dir, store, holderCacheMs: 0 });
      expect(await uncached.kek(id)).to.deep.equal(kek);
      await store.setHolderKeyStatus(id, "suspended");
      expect(await keyringErrorCode(uncached.kek(id))).to.equal("HOLDER_INACTIVE");
    });

    it("kek cache: rotateHolder drops the holder's cached row; the KEK stays the same", async function () {
      const now = 5_000_000;
      const cached = await Keyring.open({ dir, store, holderCacheMs: 30_000, now: () => now });
      const id = holderId();
      await cached.createHolder(id);
      const kek = await cached.kek(id);
      // Suspended behind the keyring's back: the cached row still says active…
      await store.setHolderKeyStatus(id, "suspended");
      expect(await cached.kek(id)).to.deep.equal(kek);

      // …until the keyring rotates the holder (a suspended holder may rotate): the next kek reads the row again.
      const rotated = await cached.rotateHolder(id);
      expect(await keyringErrorCode(cached.kek(id))).to.equal("HOLDER_INACTIVE");
      await cached.setHolderStatus(id, "active");
      expect(await cached.kek(id)).to.deep.equal(kek);
      expect((await store.getHolderKey(id))?.publicKeyPem).to.equal(rotated.publicKeyPem);
    });

    it("kek: a holder key file readable by group is KEY_FILE_INSECURE; a missing one KEY_FILE_INVALID", async function () {
      const id = holderId();
      await keyring.createHolder(id);
      fs.chmodSync(holderFile(id), 0o640);
      const fresh = await Keyring.open({ dir, store });
      expect(await keyringErrorCode(fresh.kek(id))).to.equal("KEY_FILE_INSECURE");
      fs.chmodSync(holderFile(id), 0o600);
      expect(await fresh.kek(id)).to.have.length(16);

      const other = holderId();
      await keyring.createHolder(other);
      fs.renameSync(holderFile(other), path.join(dir, "elsewhere.pem"));
      expect(await keyringErrorCode((await Keyring.open({ dir, store })).kek(other))).to.equal("KEY_FILE_INVALID");
    });

    it("rotateHolder: new key pair, same KEK; the old private key no longer opens the wrapped KEK", async function () {
      const id = holderId();
      const created = await keyring.createHolder(id);
      const kek = await keyring.kek(id);
      const oldKey = Sm2PrivateKey.fromPem(fs.readFileSync(holderFile(id), "utf8"));

      const rotated = await keyring.rotateHolder(id);

      expect(rotated.publicKeyPem).not.to.equal(created.publicKeyPem);
      expect(rotated.keyDigest).to.equal(keyDigest(rotated.publicKeyPem));
      const row = await store.getHolderKey(id);
      expect(row?.publicKeyPem).to.equal(rotated.publicKeyPem);
      expect(row?.rotatedAt).to.be.instanceOf(Date);
      const newKey = Sm2PrivateKey.fromPem(fs.readFileSync(holderFile(id), "utf8"));
      expect(newKey.publicKey.toPem()).to.equal(rotated.publicKeyPem);
      expect(modeOf(holderFile(id))).to.equal(0o600);
      expect(unwrapDataKey(row!.wrappedKek, newKey, 16)).to.deep.equal(kek);
      expect(() => unwrapDataKey(row!.wrappedKek, oldKey, 16)).to.throw(CryptoError);
      expect(await (await Keyring.open({ dir, store })).kek(id)).to.deep.equal(kek);
      // The old key file is gone; no temporary or backup file is left.
      expect(fs.readdirSync(path.join(dir, "holders")).filter((n) => n.includes(id))).to.deep.equal([`${id}.pem`]);
    });

    it("rotateHolder: an unknown holder is NO_SUCH_HOLDER; concurrent rotations leave one consistent key", async function () {
      expect(await keyringErrorCode(keyring.rotateHolder(holderId()))).to.equal("NO_SUCH_HOLDER");
      const id = holderId();
      await keyring.createHolder(id);
      const kek = await keyring.kek(id);
      const results = await Promise.all([1, 2, 3].map(() => keyring.rotateHolder(id)));
      expect(new Set(results.map((r) => r.publicKeyPem)).size).to.equal(3);
      const row = await store.getHolderKey(id);
      expect(Sm2PrivateKey.fromPem(fs.readFileSync(holderFile(id), "utf8")).publicKey.toPem()).to.equal(
        row?.publicKeyPem,
      );
      expect(await (await Keyring.open({ dir, store })).kek(id)).to.deep.equal(kek);
    });

    it("recovery: after a crash between the store write and the file swap, the matching leftover key is used, then installed", async function () {
      // Arrange: what a rotation that died after its commit and before its rename leaves behind.
      const id = holderId();
      await keyring.createHolder(id);
      const kek = await keyring.kek(id);
      const next = Sm2PrivateKey.generate();
      const leftover = path.join(dir, "holders", `.${id}.${randomBytes(8).toString("hex")}.tmp`);
      fs.writeFileSync(leftover, next.toPem(), { mode: 0o600 });
      await store.rotateHolderKey(id, {
        publicKeyPem: next.publicKey.toPem(),
        wrappedKek: wrapDataKey(kek, next.publicKey),
      });

      // Act / Assert: a fresh keyring reads the leftover without moving it; the next rotation installs and cleans up.
      const fresh = await Keyring.open({ dir, store });
      expect(await fresh.kek(id)).to.deep.equal(kek);
      expect(fs.existsSync(leftover)).to.equal(true);
      await fresh.rotateHolder(id);
      expect(fs.existsSync(leftover)).to.equal(false);
      expect(fs.readdirSync(path.join(dir, "holders")).filter((n) => n.includes(id))).to.deep.equal([`${id}.pem`]);
      expect(await (await Keyring.open({ dir, store })).kek(id)).to.deep.equal(kek);
    });

    it("rotateHolder: if the transaction does not commit, the store and the key file keep the old key", async function () {
      // Arrange: a store whose transactions run fn and then fail, as a failed COMMIT would (the real one rolls back).
      const id = holderId();
      const created = await keyring.createHolder(id);
      const kek = await keyring.kek(id);
      const failing: Store = {
        ...store,
        transaction: (fn) =>
          store.transaction(async (tx) => {
            await fn(tx);
            throw new Error("commit failed");
          }),
      };
      const flaky = await Keyring.open({ dir, store: failing });

      // Act
      let failure: unknown;
      await flaky.rotateHolder(id).catch((error: unknown) => (failure = error));

      // Assert
      expect((failure as Error).message).to.equal("commit failed");
      expect((await store.getHolderKey(id))?.publicKeyPem).to.equal(created.publicKeyPem);
      expect(Sm2PrivateKey.fromPem(fs.readFileSync(holderFile(id), "utf8")).publicKey.toPem()).to.equal(
        created.publicKeyPem,
      );
      expect(fs.readdirSync(path.join(dir, "holders")).filter((n) => n.includes(id))).to.deep.equal([`${id}.pem`]);
      expect(await (await Keyring.open({ dir, store })).kek(id)).to.deep.equal(kek);
    });

    it("a wrong private key in the holder's file (no matching leftover) is KEY_FILE_INVALID", async function () {
      const id = holderId();
      await keyring.createHolder(id);
      fs.writeFileSync(holderFile(id), Sm2PrivateKey.generate().toPem(), { mode: 0o600 });
      expect(await keyringErrorCode((await Keyring.open({ dir, store })).kek(id))).to.equal("KEY_FILE_INVALID");
    });
  });
});
