import { expect } from "chai";
import { Context, Contract } from "fabric-contract-api";
import { fabricAccount } from "../../lib/fabric-identity";
import { InMemoryPeer, PeerTransactionError, type PeerIdentity } from "./peer";

/** A contract that exercises the stub, to check the in-memory peer behaves as a peer does. */
class Probe extends Contract {
  constructor() {
    super("probe");
  }

  async put(ctx: Context, json: string): Promise<string> {
    const { key, value } = JSON.parse(json) as { key: string; value: string };
    await ctx.stub.putState(key, Buffer.from(value));
    return "";
  }

  async putMany(ctx: Context, json: string): Promise<string> {
    for (const key of JSON.parse(json) as string[]) await ctx.stub.putState(key, Buffer.from("v"));
    return "";
  }

  async putComposite(ctx: Context, json: string): Promise<string> {
    const { type, attributes, value } = JSON.parse(json) as { type: string; attributes: string[]; value: string };
    await ctx.stub.putState(ctx.stub.createCompositeKey(type, attributes), Buffer.from(value));
    return "";
  }

  async del(ctx: Context, key: string): Promise<string> {
    await ctx.stub.deleteState(key);
    return "";
  }

  async get(ctx: Context, key: string): Promise<string> {
    return Buffer.from(await ctx.stub.getState(key)).toString();
  }

  /** Writes, then reads the same key back in the same transaction. */
  async putThenGet(ctx: Context, json: string): Promise<string> {
    const { key, value } = JSON.parse(json) as { key: string; value: string };
    await ctx.stub.putState(key, Buffer.from(value));
    return JSON.stringify({ seen: Buffer.from(await ctx.stub.getState(key)).toString() });
  }

  async putThenFail(ctx: Context, json: string): Promise<string> {
    const { key, value } = JSON.parse(json) as { key: string; value: string };
    await ctx.stub.putState(key, Buffer.from(value));
    ctx.stub.setEvent("probe", Buffer.from("never"));
    throw new Error("RL:Probe failed");
  }

  async range(ctx: Context, json: string): Promise<string> {
    const { start, end } = JSON.parse(json) as { start: string; end: string };
    const keys: string[] = [];
    for await (const kv of ctx.stub.getStateByRange(start, end)) keys.push(kv.key);
    return JSON.stringify(keys);
  }

  async partial(ctx: Context, json: string): Promise<string> {
    const { type, attributes } = JSON.parse(json) as { type: string; attributes: string[] };
    const out: string[][] = [];
    for await (const kv of ctx.stub.getStateByPartialCompositeKey(type, attributes)) {
      out.push(ctx.stub.splitCompositeKey(kv.key).attributes);
    }
    return JSON.stringify(out);
  }

  /** The iterator protocol a peer's shim gives: a promise of an iterator whose next() is async. */
  async iteratorShape(ctx: Context): Promise<string> {
    const pending = ctx.stub.getStateByRange("", "");
    const isAsyncIterable = typeof (pending as unknown as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
    const iterator = await pending;
    const step = iterator.next();
    const isPromise = step instanceof Promise;
    const first = await step;
    await iterator.close();
    return JSON.stringify({ isAsyncIterable, isPromise, first: first.done ? null : first.value.key });
  }

  async events(ctx: Context, json: string): Promise<string> {
    for (const name of JSON.parse(json) as string[]) ctx.stub.setEvent(name, Buffer.from(name));
    return "";
  }

  async history(ctx: Context, key: string): Promise<string> {
    const out: unknown[] = [];
    for await (const m of ctx.stub.getHistoryForKey(key)) {
      out.push({ txId: m.txId, value: Buffer.from(m.value).toString(), isDelete: m.isDelete });
    }
    return JSON.stringify(out);
  }

  async whoami(ctx: Context): Promise<string> {
    const id = ctx.clientIdentity;
    return JSON.stringify({
      mspId: id.getMSPID(),
      id: id.getID(),
      role: id.getAttributeValue("role"),
      region: id.getAttributeValue("region"),
      account: fabricAccount(id.getMSPID(), id.getIDBytes()),
      time: ctx.stub.getTxTimestamp().seconds.toNumber(),
      txId: ctx.stub.getTxID(),
    });
  }

  /** Reads a counter, yields to other transactions, writes it back incremented. */
  async increment(ctx: Context, key: string): Promise<string> {
    const n = Number(Buffer.from(await ctx.stub.getState(key)).toString() || "0");
    await new Promise((resolve) => setImmediate(resolve));
    await ctx.stub.putState(key, Buffer.from(String(n + 1)));
    return String(n + 1);
  }

  /** Counts a range, yields, then writes the count under `key`. */
  async countRange(ctx: Context, json: string): Promise<string> {
    const { start, end, key } = JSON.parse(json) as { start: string; end: string; key: string };
    let n = 0;
    for await (const _kv of ctx.stub.getStateByRange(start, end)) n += 1;
    await new Promise((resolve) => setImmediate(resolve));
    await ctx.stub.putState(key, Buffer.from(String(n)));
    return String(n);
  }

  async richQuery(ctx: Context): Promise<string> {
    for await (const _kv of ctx.stub.getQueryResult('{"selector":{}}')) return "rows";
    return "none";
  }
}

describe("InMemoryPeer: a peer's semantics for chaincode", function () {
  let peer: InMemoryPeer;
  let alice: PeerIdentity;

  const submit = (fn: string, ...args: string[]) => peer.submit(alice, fn, args);
  const text = async (fn: string, ...args: string[]) => (await peer.evaluate(alice, fn, args)).toString();
  const put = (key: string, value: string) => submit("put", JSON.stringify({ key, value }));

  beforeEach(async function () {
    peer = await InMemoryPeer.start({ now: 1_800_000_000, contracts: [Probe] });
    alice = await peer.identity("alice", { role: "caseworker", region: "110105001000" });
  });

  it("a transaction does not read its own writes; the next one does", async function () {
    await put("k", "old");
    const r = await submit("putThenGet", JSON.stringify({ key: "k", value: "new" }));
    expect(JSON.parse(r.payload.toString())).to.deep.equal({ seen: "old" });
    expect(await text("get", "k")).to.equal("new");
  });

  it("a failed transaction's writes and event are discarded and it reaches no block", async function () {
    await put("k", "kept");
    const height = peer.blockHeight();
    const err = await submit("putThenFail", JSON.stringify({ key: "k", value: "lost" })).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PeerTransactionError);
    expect((err as PeerTransactionError).message).to.equal("RL:Probe failed");
    expect((err as PeerTransactionError).code).to.equal("ENDORSEMENT_FAILURE");
    expect(peer.blockHeight()).to.equal(height);
    expect(await text("get", "k")).to.equal("kept");
    expect(peer.chaincodeEvents(0).map((e) => e.eventName)).to.not.include("probe");
  });

  it("evaluate runs the chaincode but commits nothing", async function () {
    await peer.evaluate(alice, "put", [JSON.stringify({ key: "k", value: "v" })]);
    expect(await text("get", "k")).to.equal("");
    expect(peer.blockHeight()).to.equal(1);
  });

  it("empty range keys: all simple keys, never composite ones; start inclusive, end exclusive", async function () {
    for (const k of ["b", "a", "c", "d"]) await put(k, k);
    await submit("putComposite", JSON.stringify({ type: "case", attributes: ["x"], value: "1" }));
    expect(JSON.parse(await text("range", JSON.stringify({ start: "", end: "" })))).to.deep.equal(["a", "b", "c", "d"]);
    expect(JSON.parse(await text("range", JSON.stringify({ start: "b", end: "d" })))).to.deep.equal(["b", "c"]);
    expect(JSON.parse(await text("range", JSON.stringify({ start: "b", end: "" })))).to.deep.equal(["b", "c", "d"]);
    expect(JSON.parse(await text("range", JSON.stringify({ start: "", end: "b" })))).to.deep.equal(["a"]);
  });

  it("composite-key ranges match the partial key only, in UTF-8 byte order", async function () {
    // U+FFFF sorts after U+10000 in UTF-16 (JavaScript) but before it in UTF-8 (LevelDB): a peer returns "\uffff"
    // first, and both lie inside the partial key's range (which ends at U+10FFFF).
    for (const attrs of [
      ["r1", "\u{10000}"],
      ["r1", "\uffff"],
      ["r1", "a"],
      ["r10", "a"],
      ["r2", "a"],
    ]) {
      await submit("putComposite", JSON.stringify({ type: "case", attributes: attrs, value: "1" }));
    }
    await submit("putComposite", JSON.stringify({ type: "cases", attributes: ["r1", "a"], value: "1" }));
    const rows = JSON.parse(await text("partial", JSON.stringify({ type: "case", attributes: ["r1"] })));
    expect(rows).to.deep.equal([
      ["r1", "a"],
      ["r1", "\uffff"],
      ["r1", "\u{10000}"],
    ]);
    expect(JSON.parse(await text("partial", JSON.stringify({ type: "case", attributes: [] })))).to.have.length(5);
  });

  it("range results come in batches and the iterators are async", async function () {
    await submit("putMany", JSON.stringify(Array.from({ length: 230 }, (_, i) => `k${String(i).padStart(3, "0")}`)));
    const keys = JSON.parse(await text("range", JSON.stringify({ start: "", end: "" })));
    expect(keys).to.have.length(230);
    expect(keys[0]).to.equal("k000");
    expect(keys[229]).to.equal("k229");
    expect(JSON.parse(await text("iteratorShape"))).to.deep.equal({
      isAsyncIterable: true,
      isPromise: true,
      first: "k000",
    });
  });

  it("keeps one chaincode event per transaction (the last set), with its block and transaction", async function () {
    const r = await submit("events", JSON.stringify(["first", "second"]));
    expect(r.events.map((e) => e.eventName)).to.deep.equal(["second"]);
    await put("k", "v");
    const all = peer.chaincodeEvents(0);
    expect(all).to.have.length(1);
    expect(all[0]).to.include({
      blockNumber: r.blockNumber,
      txId: r.txId,
      eventName: "second",
      chaincodeName: "relief",
    });
    expect(peer.chaincodeEvents(r.blockNumber + 1)).to.deep.equal([]);
  });

  it("gives each transaction its own block and the time set for it", async function () {
    const a = await put("k", "1");
    peer.setTime(1_800_000_600);
    const b = await submit("whoami");
    expect(b.blockNumber).to.equal(a.blockNumber + 1);
    expect(JSON.parse(b.payload.toString())).to.include({ time: 1_800_000_600, txId: b.txId });
    expect(peer.block(b.blockNumber)?.timestamp).to.equal(1_800_000_600);
  });

  it("history of a key: every committed write and delete, newest first", async function () {
    const w1 = await put("k", "1");
    const w2 = await put("k", "2");
    const d = await submit("del", "k");
    const h = JSON.parse(await text("history", "k"));
    expect(h).to.deep.equal([
      { txId: d.txId, value: "", isDelete: true },
      { txId: w2.txId, value: "2", isDelete: false },
      { txId: w1.txId, value: "1", isDelete: false },
    ]);
    expect(peer.historyOf("k").map((m) => m.blockNumber)).to.deep.equal([
      d.blockNumber,
      w2.blockNumber,
      w1.blockNumber,
    ]);
  });

  it("ClientIdentity reads the MSP ID and the attributes of the real certificate", async function () {
    const who = JSON.parse(await text("whoami"));
    expect(who).to.include({ mspId: "Org1MSP", role: "caseworker", region: "110105001000", account: alice.account });
    expect(who.id).to.match(/^x509::\/.*CN=alice.*::\/.*CN=ca\.org1msp/);
    const bob = await peer.identity("bob", { role: "approver", region: "110105" }, "Org2MSP");
    const whoBob = JSON.parse((await peer.evaluate(bob, "whoami", [])).toString());
    expect(whoBob).to.include({ mspId: "Org2MSP", role: "approver" });
    expect(whoBob.account).to.not.equal(fabricAccount("Org1MSP", bob.certificate));
  });

  it("refuses a proposal signed by another key, or a certificate its MSP did not issue", async function () {
    const mallory = await peer.identity("mallory", { role: "admin", region: "0" });
    const forged = { ...alice, privateKey: mallory.privateKey };
    await expect(peer.submit(forged, "put", [JSON.stringify({ key: "k", value: "x" })])).to.be.rejectedWith(
      PeerTransactionError,
      /invalid proposal signature/,
    );
    const other = await InMemoryPeer.start({ contracts: [Probe] });
    const outsider = await other.identity("outsider", { role: "admin", region: "0" });
    await expect(peer.submit(outsider, "whoami", [])).to.be.rejectedWith(PeerTransactionError, /creator not valid/);
    const wrongMsp = { ...alice, mspId: "Org2MSP" };
    await expect(peer.submit(wrongMsp, "whoami", [])).to.be.rejectedWith(PeerTransactionError, /creator not valid/);
  });

  it("MVCC: of two concurrent transactions that read and write one key, the later commit is invalid", async function () {
    await put("n", "0");
    const results = await Promise.allSettled([submit("increment", "n"), submit("increment", "n")]);
    const codes = results.map((r) => (r.status === "fulfilled" ? "VALID" : (r.reason as PeerTransactionError).code));
    expect(codes.sort()).to.deep.equal(["MVCC_READ_CONFLICT", "VALID"]);
    expect(await text("get", "n")).to.equal("1");
    const invalid = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    const block = peer.block((invalid.reason as PeerTransactionError).blockNumber as number);
    expect(block?.transactions[0]).to.include({ validation: "MVCC_READ_CONFLICT" }).and.to.have.property("events").that
      .is.empty;
  });

  it("MVCC: a key inserted into a scanned range meanwhile is a phantom read", async function () {
    await put("a1", "x");
    const scan = submit("countRange", JSON.stringify({ start: "a", end: "b", key: "count" }));
    const insert = put("a2", "x");
    const [s, i] = await Promise.allSettled([scan, insert]);
    expect(i.status).to.equal("fulfilled");
    expect(s.status).to.equal("rejected");
    expect(((s as PromiseRejectedResult).reason as PeerTransactionError).code).to.equal("PHANTOM_READ_CONFLICT");
    expect(await text("get", "count")).to.equal("");
  });

  it("refuses rich queries as a LevelDB peer does", async function () {
    await expect(submit("richQuery")).to.be.rejectedWith(PeerTransactionError, /not supported for leveldb/);
  });
});
