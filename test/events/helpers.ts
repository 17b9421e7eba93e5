import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import type { Store } from "../../src/engine/index.ts";
import { EventDeliverer } from "../../src/events/index.ts";
import type { EventDelivererOptions } from "../../src/events/index.ts";

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A real HTTP receiver on 127.0.0.1 (random port). Answers 500 to the first `failFirst`
 * requests of each event (by AgentPay-Event-Id), then `okStatus`.
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
  readonly #seen = new Map<string, number>();
  #server: Server | undefined;
  url = "";

  async listen(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const body = Buffer.concat(chunks).toString("utf8");
        const id = String(req.headers["agentpay-event-id"] ?? "");
        const n = (this.#seen.get(id) ?? 0) + 1;
        this.#seen.set(id, n);
        const status = n <= this.failFirst ? 500 : this.okStatus;
        if (this.hang) {
          this.received.push({ headers: req.headers, body, status: 0 });
          return;
        }
        setTimeout(() => {
          this.inFlight -= 1;
          this.received.push({ headers: req.headers, body, status });
          res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "nope");
        }, this.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/hooks`;
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

/** An engine plus a deliverer on `store`, loaded and started (the facade's order). */
export async function openEvents(store: Store = new MemoryStore(), options: EventDelivererOptions = {}) {
  const engine = Engine.create({ store });
  const deliverer = new EventDeliverer(engine, { ...FAST, ...options });
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
