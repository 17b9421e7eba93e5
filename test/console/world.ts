// A running server with two persons, their wallets, agents and merchants, for the console's tests.
// Agents talk to the server over HTTP with signed intents (see agent-process.ts), as they would.
import { createServer } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AgentPay, amount } from "../../src/index.ts";
import type { AgentPayOptions, Clock } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import type { RunningServer, ServeOptions } from "../../src/http/index.ts";

export interface Callback { headers: IncomingMessage["headers"]; body: string }

export interface World {
  pay: AgentPay;
  server: RunningServer;
  url: string;
  operatorKey: string;
  alice: { key: string; walletId: string; travelId: string; groceriesId: string };
  bob: { key: string; walletId: string; booksId: string };
  tripPlanner: { id: string; jwk: Record<string, unknown> };
  shopper: { id: string; jwk: Record<string, unknown> };
  reader: { id: string; jwk: Record<string, unknown> };
  air: string;
  hotel: string;
  grocer: string;
  bookshop: string;
  merchantKey: string;
  callbacks: Callback[];
  close(): Promise<void>;
}

export async function startWorld(opts: { console?: ServeOptions["console"]; clock?: Clock; pay?: Partial<AgentPayOptions> } = {}): Promise<World> {
  const callbacks: Callback[] = [];
  const hook: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => { body += d.toString("utf8"); });
    req.on("end", () => { callbacks.push({ headers: req.headers, body }); res.writeHead(200).end("ok"); });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/callbacks`;

  // The built-in risk engine off: the tests' decisions come from the policies alone, the same every run.
  // The webhook receiver listens on loopback, which delivery refuses unless private networks are allowed.
  const pay = await AgentPay.open({ memory: true, risk: "off", delivery: { allowPrivateNetworks: true }, ...(opts.clock ? { clock: opts.clock } : {}), ...opts.pay });
  const usd = (s: string) => amount(s, "USD");
  const eur = (s: string) => amount(s, "EUR");
  const aliceWallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "America/New_York" });
  await pay.wallets.deposit(aliceWallet.id, usd("2000.00"), { idempotencyKey: "alice-dep" });
  const travel = await pay.wallets.createSubWallet(aliceWallet.id, {
    name: "travel", budget: usd("1500.00"),
    policy: {
      perPayment: "400.00", daily: "2000.00", weekly: "3000.00", monthly: "5000.00", rolling24h: "2500.00", approvalAbove: "100.00",
      categories: { allow: ["4511", "7011"] },
      notify: [{ when: "amount_above", amountMinor: 5000n }, { when: "budget_used", percent: 50, window: "daily" }, { when: "approval_needed" }],
    },
  });
  const groceries = await pay.wallets.createSubWallet(aliceWallet.id, {
    name: "groceries", budget: usd("150.00"), policy: { daily: "80.00", weekly: "200.00", categories: { allow: ["5411"] }, notify: [{ when: "payment" }] },
  });
  const bobWallet = await pay.wallets.create({ ownerId: "bob", currency: "EUR", timeZone: "Europe/Berlin" });
  await pay.wallets.deposit(bobWallet.id, eur("300.00"), { idempotencyKey: "bob-dep" });
  const books = await pay.wallets.createSubWallet(bobWallet.id, {
    name: "books", budget: eur("100.00"), policy: { perPayment: "60.00", daily: "80.00", approvalAbove: "20.00", categories: { allow: ["5942"] } },
  });

  const agent = async (name: string, ownerId: string, subWalletId: string) => {
    const r = await pay.agents.register({ name, ownerId });
    await pay.grants.create({ subWalletId, agentId: r.agent.id, scopes: ["pay"], mode: "persistent" });
    return { id: r.agent.id, jwk: r.privateKeyJwk! as unknown as Record<string, unknown> };
  };
  const tripPlanner = await agent("trip-planner", "alice", travel.id);
  const shopper = await agent("grocery-bot", "alice", groceries.id);
  const reader = await agent("book-scout", "bob", books.id);

  const air = await pay.merchants.register({ name: "SkyAir", category: "4511", callbackUrl: hookUrl });
  const hotel = await pay.merchants.register({ name: "Hotel Nord", category: "7011" });
  const grocer = await pay.merchants.register({ name: "FreshMart", category: "5411" });
  const bookshop = await pay.merchants.register({ name: "Buchladen", category: "5942" });

  const aliceKey = (await pay.apiKeys.create({ kind: "person", ownerId: "alice", name: "alice console" })).secret;
  const bobKey = (await pay.apiKeys.create({ kind: "person", ownerId: "bob", name: "bob console" })).secret;
  const operatorKey = (await pay.apiKeys.create({ kind: "operator", name: "ops" })).secret;
  const merchantKey = (await pay.apiKeys.create({ kind: "merchant", merchantId: air.merchant.id })).secret;

  const server = await serve(pay, { port: 0, drainMs: 500, ...(opts.console !== undefined ? { console: opts.console } : {}) });
  return {
    pay, server, url: server.url, operatorKey,
    alice: { key: aliceKey, walletId: aliceWallet.id, travelId: travel.id, groceriesId: groceries.id },
    bob: { key: bobKey, walletId: bobWallet.id, booksId: books.id },
    tripPlanner, shopper, reader,
    air: air.merchant.id, hotel: hotel.merchant.id, grocer: grocer.merchant.id, bookshop: bookshop.merchant.id,
    merchantKey, callbacks,
    close: async () => {
      await server.close();
      await new Promise<void>((r) => hook.close(() => r()));
    },
  };
}
