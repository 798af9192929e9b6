/**
 * `npm run admin -- <command>`: the administrator's CLI over the gateway's admin API. It signs in with
 * `RELIEF_ADMIN_KEY`, or the key file the first start wrote (`$RELIEF_DATA_DIR/admin.key`). New API keys are printed
 * once, to stdout only.
 *
 *   list                                                   institutions
 *   add --id ID --name NAME --role ROLE --region CODE      register an institution (on chain) and issue its first key
 *   issue-key --id ID                                      another API key for an institution
 *   revoke-key --key-id KEYID                              revoke an API key
 *   rotate-key --id ID                                     rotate the institution's SM2 holder key
 *   activate --id ID | deactivate --id ID                  on chain and in the gateway
 *
 * Options: --url (default http://127.0.0.1:$RELIEF_GATEWAY_PORT, port 8080).
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const USAGE = `usage: npm run admin -- <list|add|issue-key|revoke-key|rotate-key|activate|deactivate> [options]
  add --id ID --name NAME --role caseworker|approver|finance|payment-agent|medical-office|auditor|keeper --region CODE
  issue-key --id ID | revoke-key --key-id KEYID | rotate-key --id ID | activate --id ID | deactivate --id ID
  --url URL   the gateway (default http://127.0.0.1:\${RELIEF_GATEWAY_PORT:-8080})`;

class UsageError extends Error {}

function adminKey(): string {
  if (process.env.RELIEF_ADMIN_KEY) return process.env.RELIEF_ADMIN_KEY.trim();
  const file = path.join(path.resolve(process.env.RELIEF_DATA_DIR ?? ".relief"), "admin.key");
  if (!fs.existsSync(file)) throw new UsageError(`no RELIEF_ADMIN_KEY and no ${file}: start the gateway once first`);
  return fs.readFileSync(file, "utf8").trim();
}

async function call(url: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${adminKey()}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(`${res.status} ${json.error?.code}: ${json.error?.message}`);
  return json;
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      id: { type: "string" },
      name: { type: "string" },
      role: { type: "string" },
      region: { type: "string" },
      "key-id": { type: "string" },
      url: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help || positionals.length !== 1) throw new UsageError(USAGE);
  const url = values.url ?? `http://127.0.0.1:${process.env.RELIEF_GATEWAY_PORT ?? 8080}`;
  const need = (name: keyof typeof values): string => {
    const v = values[name];
    if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required\n${USAGE}`);
    return v;
  };
  let out: unknown;
  switch (positionals[0]) {
    case "list":
      out = await call(url, "GET", "/admin/institutions");
      break;
    case "add":
      out = await call(url, "POST", "/admin/institutions", {
        id: need("id"),
        name: need("name"),
        role: need("role"),
        region: need("region"),
      });
      break;
    case "issue-key":
      out = await call(url, "POST", `/admin/institutions/${encodeURIComponent(need("id"))}/api-keys`);
      break;
    case "revoke-key":
      out = await call(url, "DELETE", `/admin/api-keys/${encodeURIComponent(need("key-id"))}`);
      break;
    case "rotate-key":
      out = await call(url, "POST", `/admin/institutions/${encodeURIComponent(need("id"))}/key-rotation`);
      break;
    case "activate":
    case "deactivate":
      out = await call(url, "POST", `/admin/institutions/${encodeURIComponent(need("id"))}/active`, {
        active: positionals[0] === "activate",
      });
      break;
    default:
      throw new UsageError(USAGE);
  }
  console.log(JSON.stringify(out, null, 2));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}
