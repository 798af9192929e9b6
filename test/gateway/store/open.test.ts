import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "pg";
import { randomBytes } from "node:crypto";
import { DEFAULT_SQLITE_PATH, openStore, storeLocation } from "../../../gateway/src/store";

describe("store/open", function () {
  it("storeLocation: DATABASE_URL (or the option) selects PostgreSQL; otherwise SQLite at data/relief.sqlite", function () {
    const url = "postgres://u@db:5432/relief";
    expect(storeLocation({}, { DATABASE_URL: url })).to.deep.equal({ dialect: "postgres", databaseUrl: url });
    expect(storeLocation({ databaseUrl: url }, {})).to.deep.equal({ dialect: "postgres", databaseUrl: url });
    expect(storeLocation({}, { DATABASE_URL: "" })).to.deep.equal({
      dialect: "sqlite",
      path: path.resolve(DEFAULT_SQLITE_PATH),
    });
    expect(DEFAULT_SQLITE_PATH).to.equal(path.join("data", "relief.sqlite"));
    expect(storeLocation({ sqlitePath: "/tmp/x.sqlite" }, {})).to.deep.equal({
      dialect: "sqlite",
      path: "/tmp/x.sqlite",
    });
  });

  it("openStore: without a database URL, opens SQLite at sqlitePath and creates its folder", async function () {
    const folder = mkdtempSync(path.join(tmpdir(), "relief-open-"));
    const file = path.join(folder, "nested", "relief.sqlite");
    try {
      const store = await openStore({ sqlitePath: file }, {});
      expect(store.dialect).to.equal("sqlite");
      expect(existsSync(file)).to.equal(true);
      await store.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("openStore: with DATABASE_URL, opens PostgreSQL", async function () {
    const url = process.env.DATABASE_URL;
    if (!url) {
      console.warn("    (skipped: DATABASE_URL is not set)");
      this.skip();
    }
    const schema = `relief_test_${randomBytes(6).toString("hex")}`;
    try {
      const store = await openStore({ postgres: { schema } }, { DATABASE_URL: url });
      expect(store.dialect).to.equal("postgres");
      expect(await store.appliedMigrations()).to.have.length.greaterThan(0);
      await store.close();
    } finally {
      const client = new Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
