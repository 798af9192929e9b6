/**
 * First start on an empty data directory: the gateway's own institutions (its anchorer, whose on-chain key digest is
 * the receipt-signing key's), the beneficiaries' key holder, and the administrator's first API key, written to
 * `<data dir>/admin.key` (mode 0600) and announced once. Later starts find them and do nothing.
 */
import fs from "node:fs";
import path from "node:path";
import { Role } from "../../lib/roles";
import { issueApiKey } from "./auth";
import { GATEWAY_ACTORS, type GatewayContext } from "./context";
import { registerInstitution } from "./institutions/registry";

export interface BootstrapResult {
  /** Set on the first start: where the administrator's key was written. */
  adminKeyFile?: string;
}

export async function bootstrap(ctx: GatewayContext): Promise<BootstrapResult> {
  if (!ctx.ledger.actors().includes(GATEWAY_ACTORS.admin)) {
    throw new Error(
      `no chain key for '${GATEWAY_ACTORS.admin}' (the registry owner): put it in ${ctx.chainKeys.file} or RELIEF_CHAIN_KEY_ADMIN`,
    );
  }
  if (!(await ctx.store.getInstitution(GATEWAY_ACTORS.anchorer))) {
    await registerInstitution(
      ctx,
      { id: GATEWAY_ACTORS.anchorer, name: "Relief Ledger gateway", role: Role.Anchorer, region: 0n },
      { issueKey: false, allowReserved: true },
    );
  }
  if (!(await ctx.keyring.hasHolder(GATEWAY_ACTORS.beneficiaries))) {
    await ctx.keyring.createHolder(GATEWAY_ACTORS.beneficiaries);
  }
  const adminKeys = (await ctx.store.listApiKeys({ institutionId: null })).filter((k) => !k.revokedAt);
  if (adminKeys.length > 0) return {};
  const issued = await issueApiKey(ctx.store, ctx.keyring, null, "first start");
  const adminKeyFile = path.join(ctx.config.dataDir, "admin.key");
  fs.mkdirSync(ctx.config.dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(adminKeyFile, `${issued.token}\n`, { mode: 0o600 });
  fs.chmodSync(adminKeyFile, 0o600);
  await ctx.store.appendAudit({
    actor: GATEWAY_ACTORS.admin,
    action: "api-key.issued",
    target: "admin",
    details: { keyId: issued.keyId },
  });
  return { adminKeyFile };
}
