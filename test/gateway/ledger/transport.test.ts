import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Network } from "ethers";
import { NodeJsonRpcProvider, unavailableReason } from "../../../gateway/src/ledger/evm-rpc";

/** A local HTTP server answering every request with `answer(body, headers)`; records what it was sent. */
async function fakeNode(answer: (body: string, req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: { body: string; authorization?: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ body, authorization: req.headers.authorization });
      answer(body, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    url: (auth = "") => `http://${auth}127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const network = Network.from(31337n);
const provider = (url: string, timeoutMs = 2_000, batch = 1) =>
  new NodeJsonRpcProvider(
    url,
    network,
    { staticNetwork: network, cacheTimeout: -1, batchMaxCount: batch, batchStallTime: 0 },
    timeoutMs,
  );

/** A JSON-RPC result for each request of a (batch) body: `result(method, params)`. */
function jsonRpc(result: (method: string, params: unknown[]) => unknown) {
  return (body: string, _req: http.IncomingMessage, res: http.ServerResponse) => {
    const parsed = JSON.parse(body) as { id: number; method: string; params: unknown[] } | { id: number }[];
    const one = (p: { id: number; method?: string; params?: unknown[] }) => ({
      jsonrpc: "2.0",
      id: p.id,
      result: result(p.method ?? "", p.params ?? []),
    });
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map(one) : one(parsed)));
  };
}

describe("ledger JSON-RPC transport (NodeJsonRpcProvider)", function () {
  it("sends JSON-RPC over http with the URL's credentials as Basic authorization, never in the URL", async function () {
    const node = await fakeNode(jsonRpc((method) => (method === "eth_blockNumber" ? "0x2a" : null)));
    const p = provider(node.url("user:p%40ss@"));
    try {
      expect(await p.send("eth_blockNumber", [])).to.equal("0x2a");
      expect(JSON.parse(node.seen[0].body)).to.include({ method: "eth_blockNumber" });
      expect(node.seen[0].authorization).to.equal(`Basic ${Buffer.from("user:p@ss").toString("base64")}`);
    } finally {
      p.destroy();
      await node.close();
    }
  });

  it("requests made together go as one batch; each gets its own answer", async function () {
    const node = await fakeNode(jsonRpc((method, params) => `${method}:${String(params[0])}`));
    const p = provider(node.url(), 2_000, 32);
    try {
      const answers = await Promise.all([1, 2, 3].map((i) => p.send("eth_getTransactionReceipt", [`0x${i}`])));
      expect(answers).to.deep.equal([
        "eth_getTransactionReceipt:0x1",
        "eth_getTransactionReceipt:0x2",
        "eth_getTransactionReceipt:0x3",
      ]);
      expect(node.seen).to.have.length(1);
      expect(JSON.parse(node.seen[0].body)).to.have.length(3);
    } finally {
      p.destroy();
      await node.close();
    }
  });

  it("an HTTP error or an answer that is not JSON is unreachable; a node that does not answer a timeout; a closed port unreachable", async function () {
    const bad = await fakeNode((_body, _req, res) => {
      res.statusCode = 502;
      res.end("<html>bad gateway</html>");
    });
    const notJson = await fakeNode((_body, _req, res) => res.end("hello"));
    const silent = await fakeNode(() => undefined);
    const closed = await fakeNode(() => undefined);
    const closedUrl = closed.url();
    await closed.close();
    const providers = [provider(bad.url()), provider(notJson.url()), provider(silent.url(), 200), provider(closedUrl)];
    try {
      const reasons = await Promise.all(
        providers.map((p) => p.send("eth_blockNumber", []).then(() => "answered", unavailableReason)),
      );
      expect(reasons).to.deep.equal(["unreachable", "unreachable", "timeout", "unreachable"]);
    } finally {
      for (const p of providers) p.destroy();
      await Promise.all([bad.close(), notJson.close(), silent.close()]);
    }
  });
});
