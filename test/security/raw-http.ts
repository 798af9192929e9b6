/**
 * A raw HTTP client for hostile requests: the path goes out exactly as given (fetch and supertest would normalise
 * `..` away or refuse odd bytes), over one keep-alive agent so ten thousand requests do not open ten thousand
 * connections.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RawServer {
  send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawResponse>;
  close(): Promise<void>;
}

export async function listen(app: Express): Promise<RawServer> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    send(method, path, headers, body) {
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port,
            method: method.toUpperCase(),
            path,
            // Node sends a GET or DELETE body unframed unless told its length.
            headers: body === undefined ? headers : { ...headers, "Content-Length": String(Buffer.byteLength(body)) },
            agent,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
            );
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.setTimeout(60_000, () => req.destroy(new Error(`no answer in 60 s: ${method} ${path.slice(0, 200)}`)));
        if (body !== undefined) req.write(body);
        req.end();
      });
    },
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
