// Every route with every kind of caller: none, the operator, the right person, another person, the right
// merchant, another merchant, the right agent, another agent, a revoked key. Exactly the allowed ones
// succeed; every other answer is a 4xx in the one error shape (and matches the OpenAPI document).
import { expect } from "chai";
import { EVERYONE, startWorld } from "./helpers.ts";
import type { Who, World } from "./helpers.ts";

interface Case {
  name: string;
  allowed: Who[];
  /** Makes what the call acts on (fresh for every caller when the call changes it). */
  prepare: (w: World) => Promise<{ method: string; path: string; body?: unknown; headers?: Record<string, string> }>;
}

let seq = 0;
const key = () => ({ "idempotency-key": `k-${++seq}` });
const usd = (value: string) => ({ value, currency: "USD" });
const ALL_AUTHENTICATED: Who[] = ["operator", "alice", "bob", "merchantA", "merchantB", "agentA", "agentB"];

async function approved(w: World, value = "10.00"): Promise<{ paymentId: string; token: string }> {
  const r = await w.pay.payments.authorize(await w.payIntent(value));
  if (r.status !== "approved") throw new Error(`expected approved, got ${r.status}`);
  return { paymentId: r.paymentId, token: r.token };
}
async function captured(w: World): Promise<string> {
  const { paymentId, token } = await approved(w);
  await w.pay.payments.redeem({ token, merchantId: w.merchantA, amount: { minor: 1000n, currency: "USD" }, idempotencyKey: `cap-${paymentId}` });
  return paymentId;
}
async function pendingApproval(w: World): Promise<string> {
  const r = await w.pay.payments.authorize(await w.payIntent("150.00"));
  if (r.status !== "pending_approval") throw new Error("expected pending_approval");
  return r.approvalId;
}
async function freshSub(w: World): Promise<string> {
  return (await w.pay.wallets.createSubWallet(w.aliceWallet, { name: `s${++seq}` })).id;
}
async function refundRequest(w: World): Promise<string> {
  const paymentId = await captured(w);
  const rr = await w.pay.payments.requestRefund(await w.intent("agentA", { action: "refund_request", paymentId, amount: "1.00", currency: "USD", idempotencyKey: `rq-${++seq}` }));
  return rr.id;
}

const CASES: Case[] = [
  { name: "GET /healthz", allowed: EVERYONE, prepare: async () => ({ method: "GET", path: "/healthz" }) },
  { name: "GET /.well-known/jwks.json", allowed: EVERYONE, prepare: async () => ({ method: "GET", path: "/.well-known/jwks.json" }) },
  { name: "POST /v1/wallets", allowed: ["operator", "alice"], prepare: async () => ({ method: "POST", path: "/v1/wallets", body: { ownerId: "alice", currency: "USD", timeZone: "UTC" } }) },
  { name: "GET /v1/wallets", allowed: ["operator", "alice"], prepare: async () => ({ method: "GET", path: "/v1/wallets?ownerId=alice" }) },
  { name: "GET /v1/wallets/{id}", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "GET", path: `/v1/wallets/${w.aliceWallet}` }) },
  { name: "POST deposits", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "POST", path: `/v1/wallets/${w.aliceWallet}/deposits`, body: { amount: usd("1.00") }, headers: key() }) },
  { name: "POST withdrawals", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "POST", path: `/v1/wallets/${w.aliceWallet}/withdrawals`, body: { amount: usd("0.01") }, headers: key() }) },
  { name: "GET wallet balance", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "GET", path: `/v1/wallets/${w.aliceWallet}/balance` }) },
  { name: "GET wallet statement", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "GET", path: `/v1/wallets/${w.aliceWallet}/statement?limit=5` }) },
  { name: "POST sub-wallets", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "POST", path: `/v1/wallets/${w.aliceWallet}/sub-wallets`, body: { name: `n${++seq}` } }) },
  { name: "GET sub-wallets of a wallet", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "GET", path: `/v1/wallets/${w.aliceWallet}/sub-wallets` }) },
  { name: "GET /v1/sub-wallets/{id}", allowed: ["operator", "alice", "agentA"], prepare: async (w) => ({ method: "GET", path: `/v1/sub-wallets/${w.aliceSub}` }) },
  { name: "PUT policy", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "PUT", path: `/v1/sub-wallets/${await freshSub(w)}/policy`, body: { perPayment: "5.00" } }) },
  { name: "POST fund", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "POST", path: `/v1/sub-wallets/${await freshSub(w)}/fund`, body: { amount: usd("0.01") }, headers: key() }) },
  { name: "POST freeze", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "POST", path: `/v1/sub-wallets/${await freshSub(w)}/freeze` }) },
  { name: "GET budget", allowed: ["operator", "alice", "agentA"], prepare: async (w) => ({ method: "GET", path: `/v1/sub-wallets/${w.aliceSub}/budget` }) },
  { name: "GET sub-wallet statement", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "GET", path: `/v1/sub-wallets/${w.aliceSub}/statement` }) },
  { name: "POST /v1/agents", allowed: ["operator", "alice", "bob"], prepare: async () => ({ method: "POST", path: "/v1/agents", body: { name: "new agent" } }) },
  { name: "GET /v1/agents", allowed: ["operator", "alice", "bob"], prepare: async () => ({ method: "GET", path: "/v1/agents" }) },
  { name: "GET /v1/agents/{id}", allowed: ["operator", "alice", "agentA"], prepare: async (w) => ({ method: "GET", path: `/v1/agents/${w.agents.agentA.id}` }) },
  {
    name: "POST rotate a key", allowed: ["operator", "alice"],
    prepare: async (w) => ({ method: "POST", path: `/v1/agents/${(await w.pay.agents.register({ name: "r", ownerId: "alice" })).agent.id}/keys`, body: {} }),
  },
  {
    name: "POST disable an agent", allowed: ["operator", "alice"],
    prepare: async (w) => ({ method: "POST", path: `/v1/agents/${(await w.pay.agents.register({ name: "d", ownerId: "alice" })).agent.id}/disable` }),
  },
  { name: "POST /v1/grants", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "POST", path: "/v1/grants", body: { subWalletId: w.aliceSub, agentId: w.agents.agentB.id, scopes: ["pay"], mode: "session", expiresIn: "1h" } }) },
  { name: "GET /v1/grants", allowed: ["operator", "alice", "bob", "agentA", "agentB"], prepare: async () => ({ method: "GET", path: "/v1/grants" }) },
  {
    name: "GET /v1/grants/{id}", allowed: ["operator", "alice", "agentA"],
    prepare: async (w) => ({ method: "GET", path: `/v1/grants/${w.pay.grants.list({ subWalletId: w.aliceSub, agentId: w.agents.agentA.id })[0]!.id}` }),
  },
  {
    name: "GET /v1/grants/{id}/ap2-intent-mandate", allowed: ["operator", "alice", "agentA"],
    prepare: async (w) => ({ method: "GET", path: `/v1/grants/${w.pay.grants.list({ subWalletId: w.aliceSub, agentId: w.agents.agentA.id })[0]!.id}/ap2-intent-mandate` }),
  },
  {
    name: "POST revoke a grant", allowed: ["operator", "alice"],
    prepare: async (w) => ({ method: "POST", path: `/v1/grants/${(await w.pay.grants.create({ subWalletId: await freshSub(w), agentId: w.agents.agentA.id, scopes: ["pay"], mode: "persistent" })).id}/revoke` }),
  },
  { name: "POST /v1/merchants", allowed: ["operator"], prepare: async () => ({ method: "POST", path: "/v1/merchants", body: { name: "New Shop", category: "5411" } }) },
  { name: "GET /v1/merchants", allowed: ["operator"], prepare: async () => ({ method: "GET", path: "/v1/merchants" }) },
  { name: "GET /v1/merchants/{id}", allowed: ["operator", "merchantA"], prepare: async (w) => ({ method: "GET", path: `/v1/merchants/${w.merchantA}` }) },
  {
    name: "POST disable a merchant", allowed: ["operator"],
    prepare: async (w) => ({ method: "POST", path: `/v1/merchants/${(await w.pay.merchants.register({ name: `M${++seq}`, category: "5411" })).merchant.id}/disable` }),
  },
  { name: "POST /v1/payment-intents (the intent authenticates)", allowed: ALL_AUTHENTICATED.concat("none"), prepare: async (w) => ({ method: "POST", path: "/v1/payment-intents", body: { intent: await w.payIntent("1.00") } }) },
  { name: "GET /v1/payments", allowed: ALL_AUTHENTICATED, prepare: async (w) => ({ method: "GET", path: `/v1/payments?subWalletId=${w.aliceSub}` }) },
  { name: "GET /v1/payments/{id}", allowed: ["operator", "alice", "merchantA", "agentA"], prepare: async (w) => ({ method: "GET", path: `/v1/payments/${(await approved(w)).paymentId}` }) },
  { name: "POST /v1/payments/redeem", allowed: ["merchantA"], prepare: async (w) => ({ method: "POST", path: "/v1/payments/redeem", body: { token: (await approved(w)).token, amount: usd("5.00") }, headers: key() }) },
  { name: "POST void (merchant)", allowed: ["merchantA"], prepare: async (w) => ({ method: "POST", path: `/v1/payments/${(await approved(w)).paymentId}/void` }) },
  { name: "POST refunds", allowed: ["merchantA"], prepare: async (w) => ({ method: "POST", path: `/v1/payments/${await captured(w)}/refunds`, body: { amount: usd("1.00") }, headers: key() }) },
  { name: "POST /v1/tokens/verify", allowed: ["merchantA"], prepare: async (w) => ({ method: "POST", path: "/v1/tokens/verify", body: { token: (await approved(w)).token } }) },
  {
    name: "POST /v1/refund-requests (the intent authenticates)", allowed: ALL_AUTHENTICATED.concat("none"),
    prepare: async (w) => ({ method: "POST", path: "/v1/refund-requests", body: { intent: await w.intent("agentA", { action: "refund_request", paymentId: await captured(w), amount: "1.00", currency: "USD", idempotencyKey: `r${++seq}` }) } }),
  },
  { name: "GET /v1/refund-requests", allowed: ["operator", "merchantA", "merchantB"], prepare: async (w) => ({ method: "GET", path: `/v1/refund-requests?merchantId=${w.merchantA}` }) },
  { name: "GET /v1/refund-requests/{id}", allowed: ["operator", "merchantA", "agentA", "alice"], prepare: async (w) => ({ method: "GET", path: `/v1/refund-requests/${await refundRequest(w)}` }) },
  { name: "POST grant a refund request", allowed: ["merchantA"], prepare: async (w) => ({ method: "POST", path: `/v1/refund-requests/${await refundRequest(w)}/grant`, body: {}, headers: key() }) },
  { name: "POST decline a refund request", allowed: ["merchantA"], prepare: async (w) => ({ method: "POST", path: `/v1/refund-requests/${await refundRequest(w)}/decline`, body: {} }) },
  { name: "GET /v1/approvals", allowed: ["operator", "alice", "bob"], prepare: async () => ({ method: "GET", path: "/v1/approvals" }) },
  { name: "GET /v1/approvals/{id}", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "GET", path: `/v1/approvals/${await pendingApproval(w)}` }) },
  { name: "POST approve", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "POST", path: `/v1/approvals/${await pendingApproval(w)}/approve`, body: { note: "ok" } }) },
  { name: "POST deny", allowed: ["operator", "alice"], prepare: async (w) => ({ method: "POST", path: `/v1/approvals/${await pendingApproval(w)}/deny` }) },
  { name: "POST person api keys", allowed: ["operator"], prepare: async () => ({ method: "POST", path: "/v1/persons/alice/api-keys", body: {} }) },
  { name: "GET person api keys", allowed: ["operator", "alice"], prepare: async () => ({ method: "GET", path: "/v1/persons/alice/api-keys" }) },
  { name: "POST merchant api keys", allowed: ["operator", "merchantA"], prepare: async (w) => ({ method: "POST", path: `/v1/merchants/${w.merchantA}/api-keys`, body: {} }) },
  { name: "GET merchant api keys", allowed: ["operator", "merchantA"], prepare: async (w) => ({ method: "GET", path: `/v1/merchants/${w.merchantA}/api-keys` }) },
  { name: "POST operator api keys", allowed: ["operator"], prepare: async () => ({ method: "POST", path: "/v1/operator/api-keys", body: {} }) },
  {
    name: "POST revoke a person key", allowed: ["operator", "alice"],
    prepare: async (w) => ({ method: "POST", path: `/v1/api-keys/${(await w.pay.apiKeys.create({ kind: "person", ownerId: "alice" })).apiKey.id}/revoke` }),
  },
  { name: "GET /v1/ledger/check", allowed: ["operator"], prepare: async () => ({ method: "GET", path: "/v1/ledger/check" }) },
  { name: "GET /v1/deliveries/dead", allowed: ["operator"], prepare: async () => ({ method: "GET", path: "/v1/deliveries/dead" }) },
];

describe("HTTP: who may do what (every route × every caller)", function () {
  this.timeout(120_000);
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  for (const c of CASES) {
    it(`${c.name}: ${c.allowed.length === EVERYONE.length ? "everyone" : c.allowed.join(", ")}`, async () => {
      const outcomes: string[] = [];
      for (const who of EVERYONE) {
        const req = await c.prepare(w);
        const res = await w.call(who, req.method, req.path, req.body, req.headers);
        const ok = res.status < 300;
        if (ok !== c.allowed.includes(who)) outcomes.push(`${who}: ${res.status} ${res.text.slice(0, 160)}`);
        if (!ok) expect(res.status, `${who} ${res.text}`).to.be.oneOf([400, 401, 403, 404]);
        if (who === "none" && !c.allowed.includes("none")) expect(res.status).to.equal(401);
        if (who === "revoked" && !c.allowed.includes("revoked")) expect(res.status).to.equal(401);
      }
      expect(outcomes, "callers whose outcome differs from the rule").to.deep.equal([]);
    });
  }

  it("covers every documented /v1 route", async () => {
    const doc = await (await fetch(`${w.url}/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).filter((r) => r.includes("/v1/"));
    const covered = new Set<string>();
    for (const c of CASES) {
      const req = await c.prepare(w);
      const route = w.api.route(req.method, req.path);
      if (route) covered.add(`${req.method} ${route}`);
    }
    // Routes the matrix leaves to their own tests (streams, long-polls and keys that change the caller).
    const elsewhere = ["GET /v1/events/stream", "GET /v1/events/{eventId}", "GET /v1/events/{eventId}/deliveries", "POST /v1/deliveries/{deliveryId}/redeliver",
      "GET /v1/risk/rules", "PUT /v1/risk/rules", "GET /v1/risk/breaker", "POST /v1/risk/breaker/reset", "POST /v1/api-keys/{keyId}/rotate",
      "POST /v1/agents/{agentId}/keys/{kid}/revoke", "POST /v1/sub-wallets/{subWalletId}/unfreeze", "POST /v1/sub-wallets/{subWalletId}/close",
      "POST /v1/sub-wallets/{subWalletId}/defund", "GET /v1/sub-wallets/{subWalletId}/balance", "POST /v1/merchants/{merchantId}/enable",
      "POST /v1/chain/reconcile"]; // chain: test/chain and the CLI's test (CHAIN_NOT_ENABLED without the bridge)
    expect(documented.filter((r) => !covered.has(r) && !elsewhere.includes(r))).to.deep.equal([]);
  });
});
