import { createServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Server as HttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Clock } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import type { Store } from "../../src/engine/index.ts";
import { EventDeliverer } from "../../src/events/index.ts";
import type { EventDelivererOptions } from "../../src/events/index.ts";

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  /** The server address the connection came to. */
  localAddress: string;
  /** HTTPS: the TLS server name (SNI) the client sent. */
  servername?: string;
}

/**
 * A real HTTP receiver on 127.0.0.1 (random port; or `listen(host, port, tls)`). Answers 500 to the
 * first `failFirst` requests of each event (by AgentPay-Event-Id), then `okStatus`.
 */
export class WebhookServer {
  readonly received: Received[] = [];
  failFirst = 0;
  okStatus = 200;
  /** When set, requests are never answered (to exercise the timeout). */
  hang = false;
  inFlight = 0;
  maxInFlight = 0;
  /** Milliseconds to wait before answering. */
  delayMs = 0;
  /** When set, every request is answered 302 with this Location. */
  redirectTo: string | undefined;
  readonly #seen = new Map<string, number>();
  #server: Server | HttpsServer | undefined;
  url = "";
  port = 0;

  async listen(host = "127.0.0.1", port = 0, tls?: { key: string; cert: string }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const body = Buffer.concat(chunks).toString("utf8");
        const id = String(req.headers["agentpay-event-id"] ?? "");
        const n = (this.#seen.get(id) ?? 0) + 1;
        this.#seen.set(id, n);
        const status = this.redirectTo !== undefined ? 302 : n <= this.failFirst ? 500 : this.okStatus;
        const seen = {
          headers: req.headers, body, localAddress: req.socket.localAddress ?? "",
          ...(tls ? { servername: String((req.socket as TLSSocket).servername) } : {}),
        };
        if (this.hang) {
          this.received.push({ ...seen, status: 0 });
          return;
        }
        setTimeout(() => {
          this.inFlight -= 1;
          this.received.push({ ...seen, status });
          const headers = { "content-type": "text/plain", ...(this.redirectTo !== undefined ? { location: this.redirectTo } : {}) };
          res.writeHead(status, headers).end(status === 200 ? "ok" : "nope");
        }, this.delayMs);
      });
    };
    this.#server = tls ? createTlsServer(tls, handler) : createServer(handler);
    await new Promise<void>((resolve, reject) => {
      this.#server!.once("error", reject);
      this.#server!.listen(port, host, resolve);
    });
    this.port = (this.#server.address() as AddressInfo).port;
    this.url = `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${this.port}/hooks`;
    return this;
  }

  requestsFor(eventId: string): Received[] {
    return this.received.filter((r) => r.headers["agentpay-event-id"] === eventId);
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

/** Polls until `cond` holds. The deadline only turns a hang into a failure; nothing asserts on time. */
export async function waitFor(cond: () => boolean, what = "condition", deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const FAST: EventDelivererOptions = { baseDelayMs: 10, maxDelayMs: 40, pollMs: 20, timeoutMs: 2_000 };

/** These tests deliver to servers on 127.0.0.1, which the default address policy refuses (SSRF). */
export const LOCAL: EventDelivererOptions = { allowPrivateNetworks: true };

/** An engine plus a deliverer on `store`, loaded and started (the facade's order). Local destinations allowed. */
export async function openEvents(store: Store = new MemoryStore(), options: EventDelivererOptions = {}, clock?: Clock) {
  const engine = Engine.create({ store, ...(clock ? { clock } : {}) });
  const deliverer = new EventDeliverer(engine, { ...FAST, ...LOCAL, ...options });
  await engine.load();
  deliverer.start();
  return {
    engine,
    deliverer,
    async close() {
      await deliverer.stop();
      await engine.close();
    },
  };
}

export const SECRET = "whsec_test_0123456789abcdef";
