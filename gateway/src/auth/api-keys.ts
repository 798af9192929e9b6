/**
 * API keys: `rlk_<keyId>_<secret>`. The key id is public (it names the key in logs and the audit log); the secret is
 * 32 random bytes, shown once when the key is issued and stored only as a keyed digest (HMAC-SM3 under the gateway's
 * token key), compared in constant time.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Keyring } from "../keys";
import type { ApiKeyRow, Store } from "../store";

const TOKEN = /^rlk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const PURPOSE = "api-key";

export interface IssuedKey {
  keyId: string;
  /** The whole token: shown once, never stored. */
  token: string;
  row: ApiKeyRow;
}

export async function issueApiKey(
  store: Store,
  keyring: Keyring,
  institutionId: string | null,
  label?: string,
): Promise<IssuedKey> {
  const keyId = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const row = await store.putApiKey({
    keyId,
    institutionId,
    secretDigest: keyring.digestSecret(PURPOSE, secret),
    label: label ?? null,
  });
  return { keyId, token: `rlk_${keyId}_${secret}`, row };
}

/** The key a token names, if the token's secret matches and the key is not revoked. */
export async function verifyApiKey(store: Store, keyring: Keyring, token: string): Promise<ApiKeyRow | undefined> {
  const m = TOKEN.exec(token);
  if (!m) return undefined;
  const row = await store.getApiKey(m[1]);
  if (!row || row.revokedAt) return undefined;
  const expected = Buffer.from(row.secretDigest);
  const actual = Buffer.from(keyring.digestSecret(PURPOSE, m[2]));
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? row : undefined;
}

export function isApiKeyToken(token: string): boolean {
  return token.startsWith("rlk_");
}
