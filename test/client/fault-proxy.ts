// A real HTTP proxy in front of a real agentpay server that misbehaves on cue: it refuses, hangs, drops
// the connection before or after the server handled the request, or answers in the server's place
// (429, 503, a proxy's HTML page). What the clients do about it is then seen on the server's state.
import { createServer, request as httpRequest } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type Fault =
  | "pass"
  | "hang"            // never answers
  | "reset-before"    // drops the connection; the server never sees the request
  | "reset-after"     // forwards, lets the server finish, then drops the connection: the answer is lost
  | "429"             // RATE_LIMITED, Retry-After: 0
  | "429-long"        // RATE_LIMITED, Retry-After: 60
  | "503-overloaded"  // ENGINE_OVERLOADED
  | "503-store"       // STORE_FAILURE (outcome unknown)
  | "500-internal"    // INTERNAL_ERROR in the API's shape
  | "502-html"        // a proxy's error page
  | "200-html";       // something that is not the API at all

export interface Seen { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string; fault: Fault }

function apiError(res: ServerResponse, status: number, code: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "request-id": "req_proxy", ...extra });
  res.end(JSON.stringify({ error: { code, message: `${code} from the proxy`, details: {}, requestId: "req_proxy_body" } }));
}

export class FaultProxy {
  readonly seen: Seen[] = [];
  readonly #plans: Array<{ match: RegExp; faults: Fault[] }> = [];
  readonly #sockets = new Set<Socket>();
  #server!: Server;
  url = "";

  readonly upstream: string;

  constructor(upstream: string) {
    this.upstream = upstream;
  }

  static async start(upstream: string): Promise<FaultProxy> {
    const p = new FaultProxy(upstream);
    p.#server = createServer((req, res) => void p.#handle(req, res));
    p.#server.on("connection", (s) => {
      p.#sockets.add(s);
      s.on("close", () => p.#sockets.delete(s));
    });
    await new Promise<void>((r) => p.#server.listen(0, "127.0.0.1", r));
    const addr = p.#server.address() as { port: number };
    p.url = `http://127.0.0.1:${addr.port}`;
    return p;
  }

  /** The next requests whose `METHOD path` matches get these faults, in order; then they pass. */
  plan(match: RegExp, ...faults: Fault[]): void {
    this.#plans.push({ match, faults });
  }

  /** The requests seen whose `METHOD path` matches. */
  matching(match: RegExp): Seen[] {
    return this.seen.filter((s) => match.test(`${s.method} ${s.path}`));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const line = `${req.method} ${req.url}`;
    const plan = this.#plans.find((p) => p.match.test(line) && p.faults.length > 0);
    const fault = plan ? plan.faults.shift()! : "pass";
    this.seen.push({ method: req.method!, path: req.url!, headers: req.headers, body: body.toString("utf8"), fault });
    switch (fault) {
      case "hang": return;
      case "reset-before": req.socket.destroy(); return;
      case "429": apiError(res, 429, "RATE_LIMITED", { "retry-after": "0" }); return;
      case "429-long": apiError(res, 429, "RATE_LIMITED", { "retry-after": "60" }); return;
      case "503-overloaded": apiError(res, 503, "ENGINE_OVERLOADED"); return;
      case "503-store": apiError(res, 503, "STORE_FAILURE"); return;
      case "500-internal": apiError(res, 500, "INTERNAL_ERROR"); return;
      case "502-html": res.writeHead(502, { "content-type": "text/html" }).end("<html><body>Bad gateway</body></html>"); return;
      case "200-html": res.writeHead(200, { "content-type": "text/html" }).end("<html><body>Welcome to nginx</body></html>"); return;
      default: break;
    }
    const up = await this.#forward(req, body);
    if (fault === "reset-after") {
      req.socket.destroy();
      return;
    }
    res.writeHead(up.status, up.headers).end(up.body);
  }

  #forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const target = new URL(req.url!, this.upstream);
    const headers = { ...req.headers, host: target.host };
    return new Promise((resolve, reject) => {
      const out = httpRequest(target, { method: req.method, headers }, (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("end", () => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && k !== "connection" && k !== "keep-alive" && k !== "transfer-encoding") h[k] = v;
          resolve({ status: r.statusCode!, headers: h, body: Buffer.concat(chunks) });
        });
        r.on("error", reject);
      });
      out.on("error", reject);
      out.end(body);
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
