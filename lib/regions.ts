/**
 * Administrative division codes and their subtree relation, mirroring `contracts/libraries/Regions.sol`.
 * `0` is central; six-digit GB/T 2260 codes name provinces (PP0000), cities (PPCC00) and counties
 * (PPCCDD); twelve-digit statistical codes name townships (…TTT000) and villages.
 */
export const CENTRAL = 0n;

export enum Level {
  Central = 0,
  Province = 1,
  City = 2,
  County = 3,
  Township = 4,
  Village = 5,
}

/** Each level's name (indexed by {@link Level}) as reports and the web pages show it: Chinese, then English. */
export const LEVEL_NAMES: readonly string[] = [
  "中央 Central",
  "省 Province",
  "市 City",
  "縣 County",
  "鄉鎮 Township",
  "村 Village",
];

function isValidSix(code: bigint): boolean {
  if (code < 110_000n || code > 829_999n) return false;
  return (code / 100n) % 100n !== 0n || code % 100n === 0n;
}

export function isValidRegion(code: bigint): boolean {
  if (code === CENTRAL) return true;
  if (code >= 100_000_000_000n) {
    return code <= 999_999_999_999n && isValidSix(code / 1_000_000n) && code % 1_000_000n >= 1_000n;
  }
  return isValidSix(code);
}

export function widen(code: bigint): bigint {
  return code < 1_000_000n ? code * 1_000_000n : code;
}

export function levelOf(code: bigint): Level {
  if (code === CENTRAL) return Level.Central;
  const w = widen(code);
  if (w % 10_000_000_000n === 0n) return Level.Province;
  if (w % 100_000_000n === 0n) return Level.City;
  if (w % 1_000_000n === 0n) return Level.County;
  if (w % 1_000n === 0n) return Level.Township;
  return Level.Village;
}

const UNIT: Record<Level, bigint> = {
  [Level.Central]: 0n,
  [Level.Province]: 10_000_000_000n,
  [Level.City]: 100_000_000n,
  [Level.County]: 1_000_000n,
  [Level.Township]: 1_000n,
  [Level.Village]: 1n,
};

/** Whether `inner` lies in the subtree rooted at `outer` (a region contains itself). */
export function contains(outer: bigint, inner: bigint): boolean {
  if (outer === CENTRAL) return true;
  if (inner === CENTRAL) return false;
  const unit = UNIT[levelOf(outer)];
  return widen(outer) / unit === widen(inner) / unit;
}

/** Whether `child` is exactly one level below `parent` and inside it. */
export function isChild(parent: bigint, child: bigint): boolean {
  return levelOf(child) === levelOf(parent) + 1 && contains(parent, child);
}
