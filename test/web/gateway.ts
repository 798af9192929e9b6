/**
 * The browser tests' gateway: the API tests' harness (real anvil, contracts, SQLite, the seeded consortium, the
 * anchoring worker running) with its app listening on a free port of 127.0.0.1, so Chromium loads the real pages.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestGateway, startTestGateway } from "../gateway/api/harness";

export interface WebGateway extends TestGateway {
  /** http://127.0.0.1:<port> */
  url: string;
  /** A seeded institution's API key. */
  key(who: Parameters<TestGateway["auth"]>[0]): string;
}

export async function startWebGateway(): Promise<WebGateway> {
  const t = await startTestGateway({ anchoring: true, anchorIntervalMs: 200 });
  const server: Server = await new Promise((resolve) => {
    const s = t.gateway.app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const close = t.close;
  return Object.assign(t, {
    url: `http://127.0.0.1:${port}`,
    key: (who: Parameters<TestGateway["auth"]>[0]) => t.auth(who).replace(/^Bearer /, ""),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await close();
    },
  });
}
