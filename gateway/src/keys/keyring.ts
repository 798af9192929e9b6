/**
 * The keyring: the gateway's own secrets and the private halves of the key hierarchy's holder keys, as files in one
 * folder (e.g. `.relief/keys`), never in the repository and never logged.
 *
 *   <dir>/                         0700
 *     pseudonym.key                0600  32 random bytes (raw): the key of resident pseudonyms
 *     token.key                    0600  32 random bytes (raw): the key of digests of API key secrets, one-time
 *                                        codes and session tokens
 *     gateway-signing.pem          0600  SM2 private key, PKCS#8 PEM: the gateway's receipt-signing key
 *     holders/                     0700
 *       <holderId>.pem             0600  SM2 private key of a key holder, PKCS#8 PEM
 *
 * Files and folders are created with those modes. A key file open to group or others (any bit of 0077) is refused
 * with KEY_FILE_INSECURE and not read, as is a key folder writable by group or others. Files are written to a
 * temporary file (0600) in the same folder, synced, then linked (first creation: never replaces a file another
 * process created meanwhile) or renamed (rotation) into place, and the folder synced.
 *
 * The three secrets are created on the first open. If one of them is missing later, once the store holds records
 * or key holders, open refuses with KEY_FILE_INVALID rather than make a new one: a new pseudonym key would change
 * every pseudonym, a new token key would void every API key, a new signing key would orphan every receipt. Restore
 * the file from backup (or, deliberately, create it by hand: `head -c 32 /dev/urandom > token.key; chmod 600 ...`).
 * Every gateway process of a deployment must use the same folder (a shared volume or a copy).
 *
 * Key holders: each has an SM2 key pair and a 16-byte SM4 key-encryption key (KEK). The store keeps the public key
 * and the KEK wrapped to it with SM2 (`institution_keys`); this folder keeps the private key. Records' data keys are
 * wrapped under KEKs (records/sealing.ts), so SM2 is used once per holder and process (the unwrapped KEK is cached),
 * not once per record. Rotating a holder's key re-wraps its KEK to a new key pair; records are not re-encrypted.
 *
 * Holder rows are cached: `kek` checks an active holder's row in the store at most once per `holderCacheMs`
 * (default 30 s), not on every call (sealing one application reads some twenty KEKs). A rotation or status change
 * made through this keyring (`rotateHolder`, `setHolderStatus`) takes effect at once; one made elsewhere (another
 * gateway process, or the database by hand) within `holderCacheMs`. Inactive holders are never cached: a holder
 * made active again is usable at once. `forgetHolder(id)` drops a holder's cached row.
 *
 * Creation and rotation write the store row and swap the private key file inside one store transaction that holds
 * the holder's row lock from its first statement (on SQLite, `BEGIN IMMEDIATE` holds the whole database), so writers
 * of one holder never interleave, in this process or another. Rotation keeps the previous private key as
 * `holders/.<id>.prev` until its transaction has committed, and puts it back if the commit fails. A reader (`kek`)
 * whose `<id>.pem` does not match the public key the store holds (a rotation in flight, or a process that died
 * between its file swap and its commit) uses the matching one among `.<id>.prev` and `.<id>.<random>.tmp` without
 * moving anything; the holder's next rotation, under the lock, moves it into place and deletes the leftovers. So a
 * KEK is never left wrapped only to a private key that was thrown away.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { inspect } from "node:util";
import {
  CryptoError,
  Sm2PrivateKey,
  Sm2PublicKey,
  generateDataKey,
  hmacSm3,
  keyDigest,
  unwrapDataKey,
  wrapDataKey,
} from "../crypto";
import { type HolderKey, type HolderKeyStatus, type Store, type StoreData, StoreError } from "../store";
import { KeyringError } from "./errors";

export interface KeyringOptions {
  /** The key folder, e.g. `.relief/keys`; created (0700) if missing. */
  dir: string;
  /** Where key holders' public keys and wrapped KEKs live. */
  store: Store;
  /**
   * How long an active holder's row is trusted before `kek` reads it again, ms (default
   * {@link HOLDER_CACHE_MS}; 0: read it on every call).
   */
  holderCacheMs?: number;
  /** The clock of that cache, epoch ms (tests move it). */
  now?: () => number;
}

/** Default of {@link KeyringOptions.holderCacheMs}. */
export const HOLDER_CACHE_MS = 30_000;

/** A key holder's id: lowercase letters, digits, `_` and `-`, at most 64 characters. It names a file: no `/`, no `.`. */
export const HOLDER_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** A purpose of {@link Keyring.digestSecret}. */
const PURPOSE_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

const SECRET_BYTES = 32;
const KEK_BYTES = 16;
const PSEUDONYM_FILE = "pseudonym.key";
const TOKEN_FILE = "token.key";
const SIGNING_FILE = "gateway-signing.pem";
const HOLDERS_DIR = "holders";
/** Any permission bit for group or others. */
const GROUP_OR_OTHERS = 0o077;
const GROUP_OR_OTHERS_WRITE = 0o022;

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;

/** Creates `dir` (0700) if missing; refuses a non-folder or a folder that group or others may write. */
async function ensureDir(dir: string): Promise<void> {
  try {
    const created = await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) await fs.chmod(dir, 0o700);
  } catch (error) {
    throw new KeyringError("KEY_FILE_INVALID", `cannot create the key folder ${dir}`, { cause: error });
  }
  const stat = await fs.stat(dir);
  if (!stat.isDirectory()) throw new KeyringError("KEY_FILE_INVALID", `${dir} is not a folder`);
  if ((stat.mode & GROUP_OR_OTHERS_WRITE) !== 0) {
    throw new KeyringError(
      "KEY_FILE_INSECURE",
      `the key folder ${dir} is writable by group or others (mode ${(stat.mode & 0o777).toString(8)}): chmod 700 it`,
    );
  }
}

/** The bytes of key file `file`, or undefined if there is none. Refuses (unread) a file open to group or others. */
async function readKeyFile(file: string): Promise<Buffer | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, "r");
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw new KeyringError("KEY_FILE_INVALID", `cannot open the key file ${file}`, { cause: error });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeyringError("KEY_FILE_INVALID", `the key file ${file} is not a regular file`);
    if ((stat.mode & GROUP_OR_OTHERS) !== 0) {
      throw new KeyringError(
        "KEY_FILE_INSECURE",
        `the key file ${file} is open to group or others (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Fsyncs a folder so that a link or rename in it survives a crash (best effort where folders cannot be synced). */
async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, "r");
    await handle.sync();
  } catch (error) {
    if (!["EINVAL", "EISDIR", "EPERM", "EBADF"].includes(errnoOf(error) ?? "")) throw error;
  } finally {
    await handle?.close();
  }
}

/** Writes `data` to a new temporary file (0600, synced) next to `file`, named `.<base>.<random>.tmp`. */
async function writeTemp(dir: string, base: string, data: Uint8Array | string): Promise<string> {
  const temp = path.join(dir, `.${base}.${randomBytes(8).toString("hex")}.tmp`);
  const handle = await fs.open(temp, "wx", 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlinkQuietly(temp);
    throw error;
  }
  await handle.close();
  return temp;
}

async function unlinkQuietly(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") throw error;
  }
}

/** Overwrites a retired private key file with zeros, then deletes it (best effort: disks may keep old blocks). */
async function destroyFile(file: string): Promise<void> {
  try {
    const handle = await fs.open(file, "r+");
    try {
      const { size } = await handle.stat();
      await handle.write(Buffer.alloc(size), 0, size, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return;
    throw error;
  }
  await unlinkQuietly(file);
}

/**
 * Creates `file` with `data` unless it exists (two processes opening a fresh folder at once agree on one file):
 * a synced temporary file, hard-linked to the final name (which fails if the name exists), then removed.
 */
async function createExclusive(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(file);
  const temp = await writeTemp(dir, path.basename(file), data);
  try {
    await fs.link(temp, file);
  } catch (error) {
    if (errnoOf(error) !== "EEXIST") throw error;
  } finally {
    await unlinkQuietly(temp);
  }
  await syncDir(dir);
}

function parsePrivateKey(bytes: Buffer, file: string): Sm2PrivateKey {
  try {
    return Sm2PrivateKey.fromPem(bytes.toString("utf8"));
  } catch (error) {
    throw new KeyringError("KEY_FILE_INVALID", `${file} does not hold an SM2 private key (PEM)`, { cause: error });
  }
}

function checkSecret(bytes: Buffer, file: string): Buffer {
  if (bytes.length !== SECRET_BYTES) {
    throw new KeyringError("KEY_FILE_INVALID", `${file} must hold exactly ${SECRET_BYTES} bytes, not ${bytes.length}`);
  }
  return bytes;
}

/** Whether `id` is a well-formed holder id (one that can name a file in `holders/` and nothing else). */
function isHolderId(id: unknown): id is string {
  return typeof id === "string" && HOLDER_ID_PATTERN.test(id);
}

function noSuchHolder(holderId: unknown): KeyringError {
  const name = isHolderId(holderId) ? holderId : "(malformed id)";
  return new KeyringError("NO_SUCH_HOLDER", `no key holder ${name}`);
}

export class Keyring {
  /** The key folder (absolute). */
  readonly dir: string;
  /** The gateway's receipt-signing key. */
  readonly signingKey: Sm2PrivateKey;
  /** Its public key, SPKI PEM. */
  readonly signingPublicKeyPem: string;

  readonly #store: Store;
  readonly #holdersDir: string;
  readonly #pseudonymKey: Buffer;
  readonly #tokenKey: Buffer;
  /**
   * Unwrapped KEKs by holder id, with the wrapped KEK they came from (a rotation elsewhere changes it) and, once
   * `kek` has read the holder's row and found it active, until when that row is trusted.
   */
  readonly #keks = new Map<string, { wrapped: Buffer; kek: Buffer; checkedUntil?: number }>();
  readonly #holderCacheMs: number;
  readonly #now: () => number;
  /** Per-holder queue: creations and rotations of one holder run one at a time in this process. */
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(
    dir: string,
    store: Store,
    pseudonymKey: Buffer,
    tokenKey: Buffer,
    signingKey: Sm2PrivateKey,
    cache: { holderCacheMs: number; now: () => number },
  ) {
    this.dir = dir;
    this.#store = store;
    this.#holderCacheMs = cache.holderCacheMs;
    this.#now = cache.now;
    this.#holdersDir = path.join(dir, HOLDERS_DIR);
    this.#pseudonymKey = pseudonymKey;
    this.#tokenKey = tokenKey;
    this.signingKey = signingKey;
    this.signingPublicKeyPem = signingKey.publicKey.toPem();
  }

  /**
   * Opens the key folder, creating it and the gateway's secrets on first use (see the file comment for when a
   * missing secret is refused instead). KEY_FILE_INSECURE / KEY_FILE_INVALID as described there.
   */
  static async open(options: KeyringOptions): Promise<Keyring> {
    const dir = path.resolve(options.dir);
    await ensureDir(dir);
    await ensureDir(path.join(dir, HOLDERS_DIR));
    const files = {
      pseudonym: path.join(dir, PSEUDONYM_FILE),
      token: path.join(dir, TOKEN_FILE),
      signing: path.join(dir, SIGNING_FILE),
    };
    let pseudonym = await readKeyFile(files.pseudonym);
    let token = await readKeyFile(files.token);
    let signing = await readKeyFile(files.signing);

    const missing = [
      pseudonym ? undefined : PSEUDONYM_FILE,
      token ? undefined : TOKEN_FILE,
      signing ? undefined : SIGNING_FILE,
    ].filter((name): name is string => name !== undefined);
    if (missing.length > 0) {
      const inUse =
        (await options.store.listHolderKeys()).length > 0 || (await options.store.listRecords({ limit: 1 })).length > 0;
      if (inUse) {
        throw new KeyringError(
          "KEY_FILE_INVALID",
          `${missing.join(", ")} missing from ${dir} but the store already holds records or key holders: ` +
            "restore the key folder from backup (a new key would not match what the store holds)",
        );
      }
      if (!pseudonym) await createExclusive(files.pseudonym, randomBytes(SECRET_BYTES));
      if (!token) await createExclusive(files.token, randomBytes(SECRET_BYTES));
      if (!signing) await createExclusive(files.signing, Sm2PrivateKey.generate().toPem());
      // Read back what is on disk: another process may have created a file first.
      pseudonym = await readKeyFile(files.pseudonym);
      token = await readKeyFile(files.token);
      signing = await readKeyFile(files.signing);
    }
    if (!pseudonym || !token || !signing) {
      throw new KeyringError("KEY_FILE_INVALID", `a key file in ${dir} disappeared while it was being opened`);
    }
    return new Keyring(
      dir,
      options.store,
      checkSecret(pseudonym, files.pseudonym),
      checkSecret(token, files.token),
      parsePrivateKey(signing, files.signing),
      { holderCacheMs: Math.max(0, options.holderCacheMs ?? HOLDER_CACHE_MS), now: options.now ?? Date.now },
    );
  }

  /**
   * The resident's pseudonym: `0x` + hex of HMAC-SM3(pseudonym key, "relief-pseudonym-v1" ‖ 0x00 ‖ ID), the ID
   * trimmed and upper-cased (a check digit `x` is `X`). A bytes32; without the key it cannot be tested against a
   * guessed ID. INVALID_ARGUMENT for an empty ID. Format checks of the ID (GB 11643) are the caller's.
   */
  pseudonym(residentId: string): string {
    if (typeof residentId !== "string" || residentId.trim().length === 0) {
      throw new KeyringError("INVALID_ARGUMENT", "a resident id is a non-empty string");
    }
    const normalised = residentId.trim().toUpperCase();
    return "0x" + hmacSm3(this.#pseudonymKey, `relief-pseudonym-v1\0${normalised}`).toString("hex");
  }

  /**
   * The stored digest of a secret (an API key secret, a one-time code, a session token): `0x` + hex of
   * HMAC-SM3(token key, "relief-<purpose>-v1" ‖ 0x00 ‖ secret). Purposes are `[a-z0-9][a-z0-9-]*` and keep the
   * digests of one kind of secret from matching another's. Compare digests in constant time.
   */
  digestSecret(purpose: string, secret: string): string {
    if (typeof purpose !== "string" || !PURPOSE_PATTERN.test(purpose)) {
      throw new KeyringError("INVALID_ARGUMENT", "a purpose is lowercase letters, digits and '-'");
    }
    if (typeof secret !== "string" || secret.length === 0) {
      throw new KeyringError("INVALID_ARGUMENT", "a secret is a non-empty string");
    }
    return "0x" + hmacSm3(this.#tokenKey, `relief-${purpose}-v1\0${secret}`).toString("hex");
  }

  /**
   * Creates key holder `holderId`: a fresh SM2 key pair (private key in `holders/<holderId>.pem`, 0600) and a
   * fresh 16-byte KEK wrapped to its public key, registered with `putHolderKey`. INVALID_ARGUMENT for a malformed
   * id; the store's CONFLICT if the holder exists (its key file is then left alone).
   */
  async createHolder(holderId: string): Promise<{ publicKeyPem: string; keyDigest: string }> {
    if (!isHolderId(holderId)) {
      throw new KeyringError("INVALID_ARGUMENT", `a holder id matches ${HOLDER_ID_PATTERN.source}`);
    }
    return this.#serialised(holderId, async () => {
      const privateKey = Sm2PrivateKey.generate();
      const publicKeyPem = privateKey.publicKey.toPem();
      const kek = generateDataKey();
      const wrappedKek = wrapDataKey(kek, privateKey.publicKey);
      const temp = await writeTemp(this.#holdersDir, holderId, privateKey.toPem());
      let installed = false;
      try {
        await this.#store.transaction(async (tx) => {
          await tx.putHolderKey({ holderId, publicKeyPem, wrappedKek });
          // No row existed (the insert succeeded, and holds the key until commit): a file here is an orphan of a
          // creation whose transaction never committed, and is replaced.
          await fs.rename(temp, this.#holderFile(holderId));
          installed = true;
          await syncDir(this.#holdersDir);
        });
      } catch (error) {
        if (!installed) await unlinkQuietly(temp);
        throw error;
      }
      this.#keks.set(holderId, { wrapped: Buffer.from(wrappedKek), kek });
      return { publicKeyPem, keyDigest: keyDigest(privateKey.publicKey) };
    });
  }

  /**
   * Gives holder `holderId` a new SM2 key pair: its KEK is unwrapped with the current private key and re-wrapped to
   * the new public key (records are not re-encrypted: their data keys are under the unchanged KEK), the store row
   * is rotated, and the new private key file replaces the old one (the old one is overwritten and deleted).
   * NO_SUCH_HOLDER if unknown; HOLDER_INACTIVE if revoked (a suspended holder may rotate).
   */
  async rotateHolder(holderId: string): Promise<{ publicKeyPem: string; keyDigest: string }> {
    if (!isHolderId(holderId)) throw noSuchHolder(holderId);
    return this.#serialised(holderId, async () => {
      const file = this.#holderFile(holderId);
      const backup = this.#backupFile(holderId);
      let temp: string | undefined;
      let swapped = false;
      let result: { publicKeyPem: string; keyDigest: string; wrappedKek: Buffer; kek: Buffer };
      try {
        result = await this.#store.transaction(async (tx) => {
          const seen = await tx.getHolderKey(holderId);
          if (!seen) throw noSuchHolder(holderId);
          // Re-affirming the status takes the row lock (PostgreSQL) before anything is read that the rotation
          // depends on; it returns the latest committed row.
          const row = await tx.setHolderKeyStatus(holderId, seen.status);
          if (row.status === "revoked") {
            throw new KeyringError("HOLDER_INACTIVE", `key holder ${holderId} is revoked`);
          }
          const kek = this.#unwrapKek(row, await this.#installPrivateKey(row));
          const next = Sm2PrivateKey.generate();
          const publicKeyPem = next.publicKey.toPem();
          const wrappedKek = wrapDataKey(kek, next.publicKey);
          temp = await writeTemp(this.#holdersDir, holderId, next.toPem());
          await tx.rotateHolderKey(holderId, { publicKeyPem, wrappedKek });
          // Keep the current key until the new row has committed; then swap the new file into place.
          await fs.link(file, backup);
          await fs.rename(temp, file);
          temp = undefined;
          swapped = true;
          await syncDir(this.#holdersDir);
          return { publicKeyPem, keyDigest: keyDigest(next.publicKey), wrappedKek, kek };
        });
      } catch (error) {
        if (temp) await unlinkQuietly(temp);
        if (swapped) {
          // The transaction did not commit: the store still holds the old public key; put its private key back.
          await fs.rename(backup, file);
          await syncDir(this.#holdersDir);
        }
        throw error;
      }
      await destroyFile(backup);
      await syncDir(this.#holdersDir);
      // Not trusted as checked: the next `kek` reads the row again (its status may have changed meanwhile).
      this.#keks.set(holderId, { wrapped: result.wrappedKek, kek: result.kek });
      return { publicKeyPem: result.publicKeyPem, keyDigest: result.keyDigest };
    });
  }

  /**
   * The holder's KEK (16 bytes; a copy the caller may wipe). The holder row is read when the cached one is older
   * than `holderCacheMs` (see the file comment: a suspension through this keyring takes effect at once, one made
   * elsewhere within that time); the SM2 unwrap happens once per process and wrapped KEK. Pass `data` (a
   * transaction's `tx`) when calling inside `store.transaction`. NO_SUCH_HOLDER if unknown; HOLDER_INACTIVE if not
   * active; KEY_FILE_INSECURE / KEY_FILE_INVALID if its private key file is open to others, missing or does not match.
   */
  async kek(holderId: string, data: StoreData = this.#store): Promise<Buffer> {
    if (!isHolderId(holderId)) throw noSuchHolder(holderId);
    const known = this.#keks.get(holderId);
    if (known?.checkedUntil !== undefined && this.#now() < known.checkedUntil) return Buffer.from(known.kek);
    const row = await data.getHolderKey(holderId);
    if (!row) throw noSuchHolder(holderId);
    if (row.status !== "active") {
      if (known) known.checkedUntil = undefined;
      throw new KeyringError("HOLDER_INACTIVE", `key holder ${holderId} is ${row.status}`);
    }
    const checkedUntil = this.#holderCacheMs > 0 ? this.#now() + this.#holderCacheMs : undefined;
    const cached = this.#keks.get(holderId);
    if (cached && cached.wrapped.equals(row.wrappedKek)) {
      cached.checkedUntil = checkedUntil;
      return Buffer.from(cached.kek);
    }
    let privateKey: Sm2PrivateKey;
    try {
      privateKey = await this.#findPrivateKey(row);
    } catch (error) {
      // A rotation elsewhere may have been swapping files under the listing: look once more.
      if (!(error instanceof KeyringError) || error.code !== "KEY_FILE_INVALID") throw error;
      privateKey = await this.#findPrivateKey(row);
    }
    const kek = this.#unwrapKek(row, privateKey);
    this.#keks.set(holderId, { wrapped: Buffer.from(row.wrappedKek), kek, checkedUntil });
    return Buffer.from(kek);
  }

  /**
   * Sets a key holder's status in the store (`data`: a transaction's `tx`, or the store) and drops its cached row,
   * so that a suspension or revocation takes effect at once in this process. NO_SUCH_HOLDER if unknown.
   */
  async setHolderStatus(holderId: string, status: HolderKeyStatus, data: StoreData = this.#store): Promise<HolderKey> {
    if (!isHolderId(holderId)) throw noSuchHolder(holderId);
    this.forgetHolder(holderId);
    try {
      return await data.setHolderKeyStatus(holderId, status);
    } catch (error) {
      if (error instanceof StoreError && error.code === "NOT_FOUND") throw noSuchHolder(holderId);
      throw error;
    } finally {
      // Also after the write: a `kek` that read the row before it may have cached it meanwhile.
      this.forgetHolder(holderId);
    }
  }

  /** Drops the cached row of a holder (its next `kek` reads the store), e.g. after a status change made elsewhere. */
  forgetHolder(holderId: string): void {
    const known = this.#keks.get(holderId);
    if (known) known.checkedUntil = undefined;
  }

  /** Whether key holder `holderId` is registered in the store (whatever its status). */
  async hasHolder(holderId: string, data: StoreData = this.#store): Promise<boolean> {
    return isHolderId(holderId) && (await data.getHolderKey(holderId)) !== undefined;
  }

  /** What logs and JSON show of a keyring: its folder, no key material. */
  toJSON(): { dir: string; signingPublicKeyPem: string } {
    return { dir: this.dir, signingPublicKeyPem: this.signingPublicKeyPem };
  }

  [inspect.custom](): string {
    return `Keyring { dir: ${JSON.stringify(this.dir)} }`;
  }

  #holderFile(holderId: string): string {
    return path.join(this.#holdersDir, `${holderId}.pem`);
  }

  #backupFile(holderId: string): string {
    return path.join(this.#holdersDir, `.${holderId}.prev`);
  }

  #unwrapKek(row: HolderKey, privateKey: Sm2PrivateKey): Buffer {
    try {
      return unwrapDataKey(row.wrappedKek, privateKey, KEK_BYTES);
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      throw new KeyringError(
        "KEY_FILE_INVALID",
        `the private key of key holder ${row.holderId} does not open its KEK`,
        {
          cause: error,
        },
      );
    }
  }

  /** The holder's leftover files of interrupted writes: `.<id>.prev` and `.<id>.<random>.tmp`. */
  async #leftovers(holderId: string): Promise<string[]> {
    const prefix = `.${holderId}.`;
    return (await fs.readdir(this.#holdersDir))
      .filter((name) => name.startsWith(prefix) && /^(prev|[0-9a-f]+\.tmp)$/.test(name.slice(prefix.length)))
      .map((name) => path.join(this.#holdersDir, name));
  }

  /**
   * The private key whose public key is the one the store holds for `row`'s holder: `holders/<id>.pem`, or else the
   * matching leftover of an interrupted write (read only: files are moved by writers alone, under the row lock).
   */
  async #findPrivateKey(row: HolderKey): Promise<Sm2PrivateKey> {
    return (await this.#locatePrivateKey(row)).key;
  }

  /** {@link #findPrivateKey}, for a writer holding the row lock: moves a matching leftover into place, deletes the rest. */
  async #installPrivateKey(row: HolderKey): Promise<Sm2PrivateKey> {
    const { key, file } = await this.#locatePrivateKey(row);
    const target = this.#holderFile(row.holderId);
    if (file !== target) await fs.rename(file, target);
    for (const leftover of await this.#leftovers(row.holderId)) await destroyFile(leftover);
    await syncDir(this.#holdersDir);
    return key;
  }

  async #locatePrivateKey(row: HolderKey): Promise<{ key: Sm2PrivateKey; file: string }> {
    const holderId = row.holderId;
    let expected: Sm2PublicKey;
    try {
      expected = Sm2PublicKey.fromPem(row.publicKeyPem);
    } catch (error) {
      throw new KeyringError("KEY_FILE_INVALID", `the stored public key of key holder ${holderId} does not parse`, {
        cause: error,
      });
    }
    const file = this.#holderFile(holderId);
    const bytes = await readKeyFile(file);
    const current = bytes && parsePrivateKey(bytes, file);
    if (current?.publicKey.equals(expected)) return { key: current, file };

    for (const candidate of await this.#leftovers(holderId)) {
      let key: Sm2PrivateKey | undefined;
      try {
        const candidateBytes = await readKeyFile(candidate);
        key = candidateBytes && parsePrivateKey(candidateBytes, candidate);
      } catch {
        key = undefined; // partly written, gone meanwhile, or open to others: not a key to use
      }
      if (key?.publicKey.equals(expected)) return { key, file: candidate };
    }
    if (!current) {
      throw new KeyringError(
        "KEY_FILE_INVALID",
        `no private key file for key holder ${holderId} in ${this.#holdersDir}`,
      );
    }
    throw new KeyringError(
      "KEY_FILE_INVALID",
      `the private key file of key holder ${holderId} does not match its registered public key`,
    );
  }

  async #serialised<T>(holderId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(holderId) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.catch(() => undefined);
    this.#queues.set(holderId, tail);
    try {
      return await run;
    } finally {
      if (this.#queues.get(holderId) === tail) this.#queues.delete(holderId);
    }
  }
}
