/**
 * The committed world state of one chaincode namespace, as a peer's state database keeps it: keys ordered by
 * their UTF-8 bytes (LevelDB's order, which is not JavaScript's UTF-16 string order for characters beyond the
 * BMP), a version (block, transaction) per key for MVCC validation, and the history of every key.
 */

export interface Version {
  blockNumber: number;
  txNumber: number;
}

export interface KeyModification {
  txId: string;
  blockNumber: number;
  timestamp: number;
  isDelete: boolean;
  value: Buffer;
}

interface Entry {
  value: Buffer;
  version: Version;
}

export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function sameVersion(a: Version | null, b: Version | null): boolean {
  return a === b || (a !== null && b !== null && a.blockNumber === b.blockNumber && a.txNumber === b.txNumber);
}

export class WorldState {
  private readonly entries = new Map<string, Entry>();
  /** Every live key, in UTF-8 byte order. */
  private readonly sorted: string[] = [];
  private readonly history = new Map<string, KeyModification[]>();

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  version(key: string): Version | null {
    return this.entries.get(key)?.version ?? null;
  }

  /** Keys in [start, end) by UTF-8 order; an empty `end` means no upper bound. */
  range(start: string, end: string): { key: string; value: Buffer; version: Version }[] {
    const out: { key: string; value: Buffer; version: Version }[] = [];
    for (let i = this.lowerBound(start); i < this.sorted.length; i++) {
      const key = this.sorted[i];
      if (end !== "" && compareKeys(key, end) >= 0) break;
      const e = this.entries.get(key) as Entry;
      out.push({ key, value: e.value, version: e.version });
    }
    return out;
  }

  /** Applies a valid transaction's writes (null deletes). */
  apply(writes: ReadonlyMap<string, Buffer | null>, version: Version, txId: string, timestamp: number): void {
    for (const [key, value] of writes) {
      const mods = this.history.get(key) ?? [];
      if (value === null) {
        if (!this.entries.has(key)) continue;
        this.entries.delete(key);
        this.sorted.splice(this.lowerBound(key), 1);
        mods.push({ txId, blockNumber: version.blockNumber, timestamp, isDelete: true, value: Buffer.alloc(0) });
      } else {
        if (!this.entries.has(key)) this.sorted.splice(this.lowerBound(key), 0, key);
        this.entries.set(key, { value, version });
        mods.push({ txId, blockNumber: version.blockNumber, timestamp, isDelete: false, value });
      }
      this.history.set(key, mods);
    }
  }

  /** A key's modifications, newest first (as GetHistoryForKey returns them since Fabric 2.0). */
  historyOf(key: string): KeyModification[] {
    return [...(this.history.get(key) ?? [])].reverse();
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sorted[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
