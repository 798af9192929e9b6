import { expect } from "chai";
import { type AddressInfo, type Server, type Socket, createServer } from "node:net";
import { connect } from "node:net";
import { Client } from "pg";
import { randomBytes } from "node:crypto";
import { openPostgresStore } from "../../../gateway/src/store";
import { postgresHarness, sealedRecord, storeErrorCode } from "./harness";
import { describeGatewayTables } from "./gateway.behavior";
import { describeStore } from "./store.behavior";

const DATABASE_URL = process.env.DATABASE_URL;

describeStore(
  "PostgreSQL",
  DATABASE_URL ? () => postgresHarness(DATABASE_URL) : undefined,
  "DATABASE_URL is not set; the PostgreSQL store suite did not run (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)",
);
describeGatewayTables(
  "PostgreSQL",
  DATABASE_URL ? () => postgresHarness(DATABASE_URL) : undefined,
  "DATABASE_URL is not set; the PostgreSQL gateway tables suite did not run (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)",
);

/** A TCP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("store/postgres: unreachable server", function () {
  let silent: Server | undefined;
  const sockets: Socket[] = [];

  after(async function () {
    for (const socket of sockets) socket.destroy();
    if (silent) await new Promise<void>((resolve) => silent!.close(() => resolve()));
  });

  it("openPostgresStore: a closed port is UNAVAILABLE at once", async function () {
    const port = await closedPort();
    const started = Date.now();
    const code = await storeErrorCode(
      openPostgresStore({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/test`, connectionTimeoutMillis: 1_000 }),
    );
    expect(code).to.equal("UNAVAILABLE");
    expect(Date.now() - started).to.be.below(2_000);
  });

  it("openPostgresStore: a server that accepts but never answers is UNAVAILABLE after the connection timeout", async function () {
    silent = createServer((socket) => sockets.push(socket)); // accepts, never speaks the protocol
    await new Promise<void>((resolve) => silent!.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const started = Date.now();
    const code = await storeErrorCode(
      openPostgresStore({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/test`, connectionTimeoutMillis: 300 }),
    );
    expect(code).to.equal("UNAVAILABLE");
    expect(Date.now() - started).to.be.within(250, 2_000);
  });

  it("openPostgresStore: a schema name that is not a plain identifier is INVALID_ARGUMENT (nothing is sent)", async function () {
    const code = await storeErrorCode(
      openPostgresStore({ databaseUrl: "postgres://postgres@127.0.0.1:1/test", schema: "x; DROP TABLE records" }),
    );
    expect(code).to.equal("INVALID_ARGUMENT");
  });
});

/** A TCP proxy to the database whose connections the test can cut. */
async function cuttableProxy(target: URL): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxied = new URL(target.href);
  proxied.hostname = "127.0.0.1";
  proxied.port = String((server.address() as AddressInfo).port);
  return {
    url: proxied.href,
    cut: () => sockets.forEach((socket) => socket.destroy()),
    close: async () => {
      sockets.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("store/postgres: lost connections", function () {
  const schema = `relief_test_${randomBytes(6).toString("hex")}`;

  before(function () {
    if (!DATABASE_URL) {
      console.warn("    (skipped: DATABASE_URL is not set)");
      this.skip();
    }
  });

  after(async function () {
    if (!DATABASE_URL) return;
    const client = new Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it("transaction: a connection cut mid-transaction is UNAVAILABLE, nothing is committed, and the store recovers", async function () {
    const proxy = await cuttableProxy(new URL(DATABASE_URL!));
    const idleErrors: Error[] = [];
    const store = await openPostgresStore({
      databaseUrl: proxy.url,
      schema,
      connectionTimeoutMillis: 1_000,
      onIdleError: (error) => idleErrors.push(error),
    });
    try {
      const { record } = sealedRecord();
      const started = Date.now();
      const code = await storeErrorCode(
        store.transaction(async (tx) => {
          await tx.insertRecord(record);
          proxy.cut();
          await tx.getRecord(record.id);
        }),
      );
      expect(code).to.equal("UNAVAILABLE");
      expect(Date.now() - started).to.be.below(2_000);
      expect(await store.getRecord(record.id)).to.equal(undefined); // a new connection through the proxy
      await store.insertRecord(record);
      expect((await store.getRecord(record.id))?.id).to.equal(record.id);
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});
