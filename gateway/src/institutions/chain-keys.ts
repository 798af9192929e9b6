/**
 * The chain keys of the institutions the gateway acts for, in one JSON file `{ "<actor>": "0x<private key>" }` with
 * mode 0600 (the format `RELIEF_CHAIN_KEYS_FILE` reads, gateway/src/ledger/config.ts). A key is written to the file
 * before its account is registered on chain, so a crash never leaves an on-chain institution whose key is lost.
 */
import fs from "node:fs";
import path from "node:path";
import { Wallet } from "ethers";

const KEY = /^0x[0-9a-fA-F]{64}$/;

export class ChainKeys {
  private keys: Record<string, string>;

  private constructor(
    readonly file: string,
    keys: Record<string, string>,
  ) {
    this.keys = keys;
  }

  static open(file: string): ChainKeys {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (!fs.existsSync(file)) return new ChainKeys(file, {});
    const mode = fs.statSync(file).mode & 0o077;
    if (mode !== 0) throw new Error(`${file} is readable by group or others: chmod 600 it`);
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    const keys: Record<string, string> = {};
    for (const [actor, key] of Object.entries(parsed)) {
      if (typeof key !== "string" || !KEY.test(key))
        throw new Error(`${file}: the key of ${actor} is not a private key`);
      keys[actor] = key;
    }
    return new ChainKeys(file, keys);
  }

  entries(): [string, string][] {
    return Object.entries(this.keys);
  }

  get(actor: string): string | undefined {
    return this.keys[actor];
  }

  /** The actor's key, created and saved first if it has none. */
  getOrCreate(actor: string): string {
    const existing = this.keys[actor];
    if (existing) return existing;
    return this.set(actor, Wallet.createRandom().privateKey);
  }

  set(actor: string, key: string): string {
    if (!KEY.test(key)) throw new Error(`the key of ${actor} is not a private key`);
    this.keys = { ...this.keys, [actor]: key };
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.keys, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    return key;
  }
}
