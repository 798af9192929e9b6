/**
 * A digest of everything a request could change: every row of every table of the gateway's SQLite store (read
 * through a second, read-only connection, so taking it costs a millisecond) and the chain's block number. Tests take
 * it before and after requests that must change nothing.
 */
import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import type { TestGateway } from "../gateway/api/harness";

/** One hash per table, and the chain's block number. */
export interface StateDigest {
  tables: Record<string, string>;
  blockNumber: bigint;
  /** SQLite's `data_version`: moves whenever another connection commits, so equal versions mean equal tables. */
  version: number;
  /** Rows in the audit log. */
  auditRows: number;
}

export class StateProbe {
  private readonly db: Database.Database;
  private readonly tables: { name: string; select: Database.Statement }[];
  private readonly dataVersion: Database.Statement;

  constructor(private readonly t: TestGateway) {
    this.db = new Database(t.gateway.ctx.config.sqlitePath, { readonly: true, fileMustExist: true });
    const names = this.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all() as string[];
    this.dataVersion = this.db.prepare("PRAGMA data_version").pluck();
    this.tables = names.map((name) => ({ name, select: this.db.prepare(`SELECT * FROM "${name}"`).raw() }));
  }

  async digest(): Promise<StateDigest> {
    const blockNumber = BigInt(await this.t.chain.rpc<string>("eth_blockNumber"));
    const version = this.dataVersion.get() as number;
    const tables: Record<string, string> = {};
    for (const { name, select } of this.tables) {
      // Row order is not part of the state: hash the sorted rows.
      const rows = (select.all() as unknown[][]).map((row) => JSON.stringify(row, bigintsAsText)).sort();
      tables[name] = createHash("sha256").update(rows.join("\n")).digest("hex");
    }
    const auditRows = this.db.prepare("SELECT count(*) FROM audit_log").pluck().get() as number;
    return { tables, blockNumber, version, auditRows };
  }

  /** `since` if nothing was committed and no block was mined since it was taken (cheap), else a fresh digest. */
  async digestSince(since: StateDigest): Promise<StateDigest> {
    const blockNumber = BigInt(await this.t.chain.rpc<string>("eth_blockNumber"));
    if (blockNumber === since.blockNumber && this.dataVersion.get() === since.version) return since;
    return this.digest();
  }

  /** Waits until background work (payout runs, case submission, sweeps) has finished and the state stands still. */
  async quiesce(since?: StateDigest): Promise<StateDigest> {
    let last = since ? await this.digestSince(since) : await this.digest();
    for (let round = 0; round < 300; round++) {
      await Promise.allSettled([...this.t.gateway.ctx.background]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      // Unchanged block and data version: `last` itself, without hashing every table again.
      const now = await this.digestSince(last);
      if (this.t.gateway.ctx.background.size === 0 && sameState(last, now)) return now;
      last = now;
    }
    throw new Error(
      `the gateway's state does not settle: ${changes(last, await this.digest()).join(", ")} keep changing`,
    );
  }

  /** The actions of the audit entries appended after the first `rows`. */
  auditActionsAfter(rows: number): string[] {
    return this.db
      .prepare("SELECT action FROM audit_log ORDER BY rowid LIMIT -1 OFFSET ?")
      .pluck()
      .all(rows) as string[];
  }

  close(): void {
    this.db.close();
  }
}

function bigintsAsText(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  return value;
}

/** The tables (and "chain") that differ between two digests, except those in `ignore`. */
export function changes(before: StateDigest, after: StateDigest, ignore: readonly string[] = []): string[] {
  const changed = Object.keys({ ...before.tables, ...after.tables }).filter(
    (name) => !ignore.includes(name) && before.tables[name] !== after.tables[name],
  );
  if (before.blockNumber !== after.blockNumber) changed.push("chain");
  return changed;
}

export function sameState(a: StateDigest, b: StateDigest): boolean {
  return changes(a, b).length === 0;
}
