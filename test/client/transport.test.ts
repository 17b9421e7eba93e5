// Timeouts and retries over real sockets: a proxy in front of a real server drops connections, hangs
// and answers in the server's place; the clients retry exactly where a retry cannot do anything twice,
// give up within their bounds, and always report an AgentPayError.
import { expect } from "chai";
import { createServer } from "node:net";
import { amount, isAgentPayError } from "../../src/index.ts";
import { AdminClient, AgentPayClient, AgentPayHttpError } from "../../src/client/index.ts";
import { FaultProxy } from "./fault-proxy.ts";
import { OPERATOR_KEY, openWorld, rejection, setUp } from "./helpers.ts";
import type { Party, World } from "./helpers.ts";

const usd = (s: string) => amount(s, "USD");

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("client: timeouts and retries", function () {
  this.timeout(60_000);
  let w: World;
  let proxy: FaultProxy;
  let p: Party;
  beforeEach(async () => {
    w = await openWorld();
    proxy = await FaultProxy.start(w.url);
    p = await setUp(w, { baseUrl: proxy.url, clientOptions: { timeoutMs: 2_000 } });
  });
  afterEach(async () => {
    await proxy.close();
    await w.close();
  });

  it("a refused connection is retried (nothing was sent), then reported as CONNECTION_FAILED", async () => {
    const client = new AdminClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: OPERATOR_KEY, maxRetries: 2 });
    const e = await rejection(client.wallets.list({ ownerId: "alice" }));
    expect(e).to.be.instanceOf(AgentPayHttpError);
    expect(e.code).to.equal("CONNECTION_FAILED");
    expect(e.details.cause).to.equal("ECONNREFUSED");
    expect(e.attempts).to.equal(3);
    expect(e.status).to.equal(undefined);
  });

  it("429 and 503 ENGINE_OVERLOADED are retried; the read succeeds and the server saw it once", async () => {
    proxy.plan(/^GET \/v1\/sub-wallets\/[^/]+\/budget/, "429", "503-overloaded");
    const budget = await p.agent.getBudget(p.subWalletId);
    expect(budget).to.deep.equal(w.pay.wallets.budget(p.subWalletId));
    expect(proxy.matching(/budget/).map((s) => s.fault)).to.deep.equal(["429", "503-overloaded", "pass"]);
  });

  it("a lost answer to a redemption is retried with the same Idempotency-Key: one capture", async () => {
    const r = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("60.00") });
    if (r.status !== "approved") throw new Error("expected approved");
    proxy.plan(/^POST \/v1\/payments\/redeem/, "reset-after");
    const receipt = await p.merchant.redeem({ token: r.token, amount: usd("55.00") });
    expect(receipt).to.include({ paymentId: r.paymentId, capturedMinor: 5500n });
    const sent = proxy.matching(/redeem/);
    expect(sent.map((s) => s.fault)).to.deep.equal(["reset-after", "pass"]);
    expect(sent[0]!.headers["idempotency-key"]).to.be.a("string").and.equal(sent[1]!.headers["idempotency-key"]);
    expect(w.pay.payments.get(r.paymentId)).to.include({ status: "captured", capturedMinor: 5500n });
    expect((await p.person.wallets.balance(p.subWalletId)).postedMinor).to.equal(50_000n - 5500n);
    expect(w.pay.ledger.check().ok).to.equal(true);
  });

  it("a lost answer to a payment intent is retried, signed anew with the same idempotencyKey: one payment", async () => {
    proxy.plan(/^POST \/v1\/payment-intents/, "reset-after", "503-store");
    const r = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("20.00") });
    expect(r.status).to.equal("approved");
    expect(w.pay.payments.list({ agentId: p.agentId }).map((x) => x.id)).to.deep.equal([r.paymentId]);
    const bodies = proxy.matching(/payment-intents/).map((s) => s.body);
    expect(bodies).to.have.length(3);
    expect(new Set(bodies).size, "each attempt is a fresh signature").to.equal(3);
  });

  it("a void (no idempotency key) is not resent when its answer is lost, but is when it was refused unrun", async () => {
    const a = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("5.00") });
    const b = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("6.00") });
    proxy.plan(/^POST \/v1\/payments\/[^/]+\/void/, "reset-after", "429");
    const e = await rejection(p.agent.voidPayment(a.paymentId));
    expect(e.code).to.equal("CONNECTION_FAILED");
    expect(e.attempts).to.equal(1);
    expect(w.pay.payments.get(a.paymentId).status, "the lost write took effect").to.equal("voided");
    expect((await p.agent.voidPayment(b.paymentId)).status).to.equal("voided");
    expect(proxy.matching(/void/).map((s) => s.fault)).to.deep.equal(["reset-after", "429", "pass"]);
  });

  it("a server that never answers: reads time out and are retried within the bound; a void is not", async () => {
    const r = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("5.00") });
    // A short limit for this client only: the rest of the suite must not time out on a busy machine.
    const impatient = new AgentPayClient({ baseUrl: proxy.url, agentId: p.agentId, privateKeyJwk: p.privateKeyJwk, timeoutMs: 400 });
    proxy.plan(/^GET \/v1\/grants/, "hang", "hang", "hang");
    const e = await rejection(impatient.listGrants());
    expect(e.code).to.equal("REQUEST_TIMEOUT");
    expect(e.attempts).to.equal(3);
    proxy.plan(/void/, "hang");
    const v = await rejection(impatient.voidPayment(r.paymentId));
    expect(v.code).to.equal("REQUEST_TIMEOUT");
    expect(v.attempts).to.equal(1);
    expect(proxy.matching(/void/)).to.have.length(1);
  });

  it("answers that are not the API's: a proxy's 502 page is retried for a read; a 200 page is RESPONSE_INVALID", async () => {
    proxy.plan(/^GET \/v1\/wallets\//, "502-html");
    expect((await p.person.wallets.get(p.walletId)).id).to.equal(p.walletId);
    proxy.plan(/^GET \/v1\/wallets\//, "200-html");
    const e = await rejection(p.person.wallets.get(p.walletId));
    expect(e.code).to.equal("RESPONSE_INVALID");
    expect(isAgentPayError(e)).to.equal(true);
  });

  it("no retry of INTERNAL_ERROR, nor past the bound on Retry-After; the error carries the server's code and request id", async () => {
    proxy.plan(/^GET \/v1\/wallets\//, "500-internal");
    const e = await rejection(p.person.wallets.get(p.walletId));
    expect(e).to.include({ code: "INTERNAL_ERROR", status: 500, requestId: "req_proxy_body", attempts: 1 });
    proxy.plan(/^GET \/v1\/wallets\//, "429-long");
    const limited = await rejection(p.person.wallets.get(p.walletId));
    expect(limited).to.include({ code: "RATE_LIMITED", status: 429, attempts: 1 });
    proxy.plan(/^GET \/v1\/wallets\//, "reset-before", "reset-before", "reset-before");
    const dropped = await rejection(p.person.wallets.get(p.walletId));
    expect(dropped).to.include({ code: "CONNECTION_FAILED", attempts: 3 });
  });

  it("maxRetries: 0 sends once", async () => {
    const once = new AdminClient({ baseUrl: proxy.url, apiKey: OPERATOR_KEY, maxRetries: 0 });
    proxy.plan(/^GET \/v1\/wallets\//, "429");
    expect((await rejection(once.wallets.get(p.walletId))).attempts).to.equal(1);
    expect(() => new AdminClient({ baseUrl: proxy.url, apiKey: OPERATOR_KEY, maxRetries: 11 })).to.throw(/maxRetries/);
    expect(() => new AdminClient({ baseUrl: "ftp://x", apiKey: OPERATOR_KEY })).to.throw(/http/);
  });
});
