// The two MCP transports: stdio (a desktop client starts `agentpay mcp`) and Streamable HTTP (stateless:
// one server instance per request). The HTTP one holds the agent's key, so whoever reaches it can pay
// within the grant: it binds loopback by default, checks Host/Origin (DNS rebinding) and can require a token.
import { createServer } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual, createHash } from "node:crypto";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

export async function runStdio(server: McpServer): Promise<void> {
  await server.connect(new StdioServerTransport());
}

export interface McpHttpOptions {
  host?: string;
  port?: number;
  /** If set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest request body, bytes. Default 256 KiB. */
  maxBodyBytes?: number;
}

export interface RunningMcpHttp {
  readonly url: string;
  close(): Promise<void>;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

function readBody(req: IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(Object.assign(new Error("body too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined);
      } catch {
        reject(Object.assign(new Error("malformed JSON"), { status: 400 }));
      }
    });
    req.on("error", reject);
  });
}

export async function serveMcpHttp(makeServer: () => McpServer, opts: McpHttpOptions = {}): Promise<RunningMcpHttp> {
  const host = opts.host ?? "127.0.0.1";
  const token = opts.token !== undefined ? digest(opts.token) : undefined;
  let allowedHosts: string[] = [];
  const http: Server = createServer(async (req, res) => {
    const fail = (status: number, message: string) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
    };
    try {
      if ((req.url ?? "").split("?")[0] !== "/mcp") return fail(404, "the MCP endpoint is /mcp");
      if (token) {
        const h = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
        if (!h || !timingSafeEqual(digest(h[1]!), token)) return fail(401, "a bearer token is required");
      }
      if (req.method !== "POST") return fail(405, "stateless server: POST only");
      const body = await readBody(req, opts.maxBodyBytes ?? 256 * 1024);
      const server = makeServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableDnsRebindingProtection: true, allowedHosts });
      res.on("close", () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (e) {
      if (!res.headersSent) fail((e as { status?: number }).status ?? 500, e instanceof Error ? e.message : "failed");
    }
  });
  http.headersTimeout = 10_000;
  http.requestTimeout = 330_000; // wait_for_approval may wait 300 s
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  allowedHosts = [`${host}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`];
  return {
    url: `http://${host}:${port}/mcp`,
    close: () => new Promise<void>((r) => {
      http.closeAllConnections();
      http.close(() => r());
    }),
  };
}
