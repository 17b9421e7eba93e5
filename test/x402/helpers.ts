// A world for the 402 tests: agentpay (in memory), a person with a sub-wallet and its policy, an agent
// with a grant, two merchants; and paid shops on real sockets in each framework the middleware serves
// (Hono on @hono/node-server, Express, plain node:http), each route behind its own requirePayment.
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { serve as honoServe } from "@hono/node-server";
import express from "express";
import { Hono } from "hono";
import { AgentPay, amount } from "../../src/index.ts";
import type { AgentClient, AgentPayOptions, Amount } from "../../src/index.ts";
import { requirePayment } from "../../src/x402/index.ts";
import type { GateEvent, PaymentMiddleware, RequirePaymentOptions } from "../../src/x402/index.ts";

export const usd = (s: string): Amount => amount(s, "USD");

export interface X402World {
  pay: AgentPay;
  walletId: string;
  subWalletId: string;
  agentId: string;
  agentJwk: Record<string, unknown>;
  client: AgentClient;
  merchantA: string;
  merchantB: string;
  keyA: string;
  keyB: string;
  close(): Promise<void>;
}

export interface WorldOptions {
  pay?: Partial<AgentPayOptions>;
  policy?: Record<string, unknown>;
  budget?: string;
}

export async function x402World(opts: WorldOptions = {}): Promise<X402World> {
  const pay = await AgentPay.open({ memory: true, delivery: false, risk: "off", ...opts.pay } as AgentPayOptions);
  const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
  await pay.wallets.deposit(wallet.id, usd("1000.00"), { idempotencyKey: "seed" });
  const sw = await pay.wallets.createSubWallet(wallet.id, {
    name: "api calls", budget: usd(opts.budget ?? "500.00"), policy: (opts.policy ?? { perPayment: "50.00", approvalAbove: "2.00" }) as never,
  });
  const { agent, privateKeyJwk } = await pay.agents.register({ name: "researcher", ownerId: "alice" });
  await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
  const a = await pay.merchants.register({ name: "Weather API", category: "5734", currencies: ["USD"] });
  const b = await pay.merchants.register({ name: "News API", category: "5734", currencies: ["USD"] });
  const ka = await pay.apiKeys.create({ kind: "merchant", merchantId: a.merchant.id });
  const kb = await pay.apiKeys.create({ kind: "merchant", merchantId: b.merchant.id });
  return {
    pay, walletId: wallet.id, subWalletId: sw.id, agentId: agent.id, agentJwk: privateKeyJwk!,
    client: pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! }),
    merchantA: a.merchant.id, merchantB: b.merchant.id, keyA: ka.secret, keyB: kb.secret,
    close: () => pay.close(),
  };
}

export type Framework = "hono" | "express" | "node";
export const FRAMEWORKS: Framework[] = ["hono", "express", "node"];

/** The shop's routes: `weather` and `news` cost the same (0.25), `premium` 3.00 (above the approval threshold). */
export const ROUTES = {
  weather: { path: "/weather", price: "0.25" },
  news: { path: "/news", price: "0.25" },
  premium: { path: "/premium", price: "3.00" },
  echo: { path: "/echo", price: "0.10" },
  boom: { path: "/boom", price: "0.50" },
  big: { path: "/big", price: "0.05" },
} as const;
export type RouteName = keyof typeof ROUTES;

export interface Shop {
  url: string;
  framework: Framework;
  /** How many times each route's handler ran. */
  hits: Record<RouteName, number>;
  events: GateEvent[];
  gates: Record<RouteName, PaymentMiddleware>;
  close(): Promise<void>;
}

export type SettleVia = { agentpay: AgentPay } | { server: { url: string; apiKey: string } };

export async function startShop(framework: Framework, merchantId: string, via: SettleVia, extra: Partial<RequirePaymentOptions> = {}): Promise<Shop> {
  const hits = Object.fromEntries(Object.keys(ROUTES).map((k) => [k, 0])) as Record<RouteName, number>;
  const events: GateEvent[] = [];
  const gates = Object.fromEntries(Object.entries(ROUTES).map(([name, r]) => [name, requirePayment({
    price: usd(r.price), merchantId, description: `${name} for agents`, mimeType: "application/json", ...via,
    onEvent: (e) => events.push(e), ...extra,
  })])) as Record<RouteName, PaymentMiddleware>;
  const BIG = "x".repeat(2 * 1024 * 1024);
  const body = (name: RouteName, q: string, echoed?: string) => {
    const n = ++hits[name];
    if (name === "big") return BIG;
    return JSON.stringify({ route: name, n, q, ...(echoed !== undefined ? { echoed } : {}) });
  };
  let server: Server;
  if (framework === "hono") {
    const app = new Hono();
    app.get(ROUTES.weather.path, gates.weather, (c) => c.body(body("weather", c.req.query("city") ?? ""), 200, { "content-type": "application/json" }));
    app.get(ROUTES.news.path, gates.news, (c) => c.body(body("news", ""), 200, { "content-type": "application/json" }));
    app.get(ROUTES.premium.path, gates.premium, (c) => c.body(body("premium", ""), 200, { "content-type": "application/json" }));
    app.post(ROUTES.echo.path, gates.echo, async (c) => c.body(body("echo", "", await c.req.text()), 200, { "content-type": "application/json" }));
    app.get(ROUTES.boom.path, gates.boom, () => {
      hits.boom++;
      throw new Error("the handler failed");
    });
    app.get(ROUTES.big.path, gates.big, (c) => c.body(body("big", ""), 200, { "content-type": "text/plain" }));
    app.onError((_e, c) => c.json({ error: "internal" }, 500));
    server = await new Promise<Server>((resolve) => {
      const s = honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server)) as Server;
    });
  } else if (framework === "express") {
    const app = express();
    app.get(ROUTES.weather.path, gates.weather, (req, res) => { res.type("application/json").send(body("weather", String(req.query.city ?? ""))); });
    app.get(ROUTES.news.path, gates.news, (_req, res) => { res.type("application/json").send(body("news", "")); });
    app.get(ROUTES.premium.path, gates.premium, (_req, res) => { res.type("application/json").send(body("premium", "")); });
    app.post(ROUTES.echo.path, gates.echo, express.text({ type: "*/*" }), (req, res) => { res.type("application/json").send(body("echo", "", String(req.body))); });
    app.get(ROUTES.boom.path, gates.boom, () => {
      hits.boom++;
      throw new Error("the handler failed");
    });
    app.get(ROUTES.big.path, gates.big, (_req, res) => { res.type("text/plain").send(body("big", "")); });
    app.use((_e: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => { res.status(500).json({ error: "internal" }); });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
  } else {
    const handle = (name: RouteName, req: IncomingMessage, res: ServerResponse) => {
      if (name === "boom") {
        hits.boom++;
        throw new Error("the handler failed");
      }
      if (name === "echo") {
        let text = "";
        req.setEncoding("utf8");
        req.on("data", (d: string) => { text += d; });
        req.on("end", () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(body("echo", "", text));
        });
        return;
      }
      const u = new URL(req.url ?? "/", "http://x");
      res.writeHead(200, { "content-type": name === "big" ? "text/plain" : "application/json" });
      res.end(body(name, u.searchParams.get("city") ?? ""));
    };
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const name = (Object.keys(ROUTES) as RouteName[]).find((k) => ROUTES[k].path === path);
      if (!name) {
        res.writeHead(404).end();
        return;
      }
      gates[name](req, res, (err?: unknown) => {
        if (err) {
          res.writeHead(500).end();
          return;
        }
        handle(name, req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, framework, hits, events, gates,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/** Captured payments of a merchant. */
export function captures(pay: AgentPay, merchantId: string) {
  return pay.payments.list({ merchantId, limit: 1000 }).filter((p) => p.status === "captured");
}

/** Everything that moved: balances of the sub-wallet and of each merchant's payout account. */
export function moneyState(w: X402World): Record<string, string> {
  const out: Record<string, string> = {};
  const sub = w.pay.wallets.balance(w.subWalletId);
  out.sub = JSON.stringify(w.pay.toWire(sub));
  for (const m of [w.merchantA, w.merchantB]) {
    const acct = w.pay.merchants.get(m).payoutAccounts.USD;
    out[m] = acct ? JSON.stringify(w.pay.toWire(w.pay.ledger.balance(acct))) : "none";
  }
  out.payments = JSON.stringify(w.pay.payments.list({ agentId: w.agentId, limit: 1000 }).map((p) => [p.id, p.status]));
  return out;
}
