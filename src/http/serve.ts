// Serves an app on node:http with the limits a public server needs, and stops it gracefully: stop
// accepting, let in-flight requests finish (bounded), then close the engine, so nothing acknowledged
// is lost (every 2xx was durable before it was sent).
import { serve as honoServe } from "@hono/node-server";
import type { HttpBindings } from "@hono/node-server";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentPay } from "../index.ts";
import { createApp } from "./app.ts";
import type { AppOptions } from "./app.ts";

export interface ServeOptions extends AppOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** How long shutdown waits for in-flight requests before closing their connections. Default 10 s. */
  drainMs?: number;
  /** Headers must arrive within this (slow-loris). Default 10 s. */
  headersTimeoutMs?: number;
  /** A whole request (body included) within this; long-polls stay below it. Default 90 s. */
  requestTimeoutMs?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, drains in-flight requests (bounded), closes the AgentPay. Idempotent. */
  close(): Promise<void>;
}

export async function serve(pay: AgentPay, options: ServeOptions = {}): Promise<RunningServer> {
  let draining = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const userReady = options.ready;
  const app = createApp(pay, { ...options, ready: () => !draining && (userReady ? userReady() : pay.role === "leader" && !pay.engine.failed) });
  const host = options.host ?? "127.0.0.1";
  const server = await new Promise<Server>((resolve, reject) => {
    const s = honoServe({
      fetch: async (req, bindings) => {
        const env = bindings as HttpBindings; // this server is node:http's (HTTP/1.1), never HTTP/2
        inFlight++;
        try {
          return await app.fetch(req, env);
        } finally {
          // While draining, every answer closes its connection once flushed (node:http's own
          // Connection: close handling), so no keep-alive connection brings another request.
          if (draining && !env.outgoing.headersSent) env.outgoing.setHeader("connection", "close");
          inFlight--;
          if (inFlight === 0) drained?.();
        }
      },
      hostname: host, port: options.port ?? 8787,
      serverOptions: {
        headersTimeout: options.headersTimeoutMs ?? 10_000,
        requestTimeout: options.requestTimeoutMs ?? 90_000,
        // How often those timeouts are checked (Node's default, 30 s, would let a slow client hold a socket that long).
        connectionsCheckingInterval: Math.min(5_000, Math.max(250, Math.floor((options.headersTimeoutMs ?? 10_000) / 2))),
      },
    }, () => resolve(s as Server)) as Server;
    s.once("error", reject);
  });
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
  let closing: Promise<void> | undefined;
  return {
    url, server,
    close: () => closing ??= (async () => {
      draining = true;
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const drainMs = options.drainMs ?? 10_000;
      const deadline = Date.now() + drainMs;
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => { drained = r; }), new Promise((r) => setTimeout(r, drainMs).unref())]);
      }
      // The handlers are done, but a response reaches its socket after its handler settles, and those
      // answered while draining close their connection once flushed: wait for the connections to go, for
      // at most a second more (event streams never end by themselves: they are cut then). Closing
      // everything at once could drop an acknowledged write's answer.
      const until = Math.min(deadline, Date.now() + 1_000);
      for (;;) {
        server.closeIdleConnections();
        const open = await new Promise<number>((r) => server.getConnections((e, n) => r(e ? 0 : n)));
        if ((open === 0 && inFlight === 0) || Date.now() >= until) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      server.closeAllConnections();
      await stopped;
      await pay.close();
    })(),
  };
}
