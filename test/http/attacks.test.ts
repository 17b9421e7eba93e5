// The HTTP API attacked the way a hostile agent, merchant, person or anonymous caller would, over a
// real socket: each test is a weakness that was found (and fixed), or a defence worth keeping.
import { expect } from "chai";
import { startWorld } from "./helpers.ts";
import type { World } from "./helpers.ts";

const usd = (value: string) => ({ value, currency: "USD" });

/** A request with exactly these headers (no helper adds or checks anything). */
async function raw(w: World, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}) {
  const r = await fetch(`${w.url}${path}`, { method, headers: opts.headers ?? {}, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await r.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: r.status, headers: r.headers, text, body };
}

describe("HTTP attacks", function () {
  this.timeout(120_000);
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w.close(); });

  describe("idempotency", () => {
    it("a used payment intent resent with its Idempotency-Key is a replay, not a way to fetch the live token", async () => {
      const intent = await w.payIntent("5.00");
      const headers = { "content-type": "application/json", "idempotency-key": "leaked-1" };
      const first = await raw(w, "POST", "/v1/payment-intents", { body: JSON.stringify({ intent }), headers });
      expect(first.status).to.equal(201);
      expect(first.body.token).to.be.a("string");
      // Whoever saw the request (a proxy's log, a shared trace) sends it again.
      const again = await raw(w, "POST", "/v1/payment-intents", { body: JSON.stringify({ intent }), headers });
      expect(again.status, again.text).to.equal(409);
      expect(again.body.error.code).to.equal("INTENT_REPLAYED");
      expect(again.text).to.not.contain(first.body.token);
    });

    it("an anonymous caller cannot claim an Idempotency-Key before the agent that will use it", async () => {
      const claimed = await raw(w, "POST", "/v1/payment-intents", { body: JSON.stringify({ intent: "a.b.c" }), headers: { "content-type": "application/json", "idempotency-key": "order-77" } });
      expect(claimed.status).to.equal(400);
      const honest = await raw(w, "POST", "/v1/payment-intents", {
        body: JSON.stringify({ intent: await w.payIntent("5.00") }), headers: { "content-type": "application/json", "idempotency-key": "order-77" },
      });
      expect(honest.status, honest.text).to.equal(201);
      expect(honest.body.status).to.equal("approved");
    });

    it("keys are the caller's: another person's or merchant's same key and body is a new request, never the stored answer", async () => {
      const body = { amount: usd("1.00") };
      const alice = await w.call("alice", "POST", `/v1/wallets/${w.aliceWallet}/deposits`, body, { "idempotency-key": "shared-key" });
      expect(alice.status).to.equal(201);
      const bob = await w.call("bob", "POST", `/v1/wallets/${w.aliceWallet}/deposits`, body, { "idempotency-key": "shared-key" });
      expect(bob.status).to.equal(404);
      expect(bob.headers.get("idempotent-replayed")).to.equal(null);
      // The same key on another route is another request.
      const other = await w.call("alice", "POST", `/v1/wallets/${w.aliceWallet}/withdrawals`, body, { "idempotency-key": "shared-key" });
      expect(other.status).to.equal(201);
      expect(other.body.id).to.not.equal(alice.body.id);
    });
  });

  describe("bad input changes nothing", () => {
    it("an agent's void intent for one payment sent to another payment's route is refused before anything moves", async () => {
      const a = await w.pay.payments.authorize(await w.payIntent("3.00"));
      const b = await w.pay.payments.authorize(await w.payIntent("4.00"));
      const intent = await w.intent("agentA", { action: "void", paymentId: a.paymentId });
      const res = await w.call("none", "POST", `/v1/payments/${b.paymentId}/void`, { intent });
      expect(res.status).to.equal(400);
      expect(res.body.error.details.field).to.equal("intent");
      expect(w.pay.payments.get(a.paymentId).status, "the payment the intent names").to.equal("authorized");
      expect(w.pay.payments.get(b.paymentId).status).to.equal("authorized");
      // The intent was not spent: sent where it belongs, it voids its payment.
      expect((await w.call("none", "POST", `/v1/payments/${a.paymentId}/void`, { intent })).body.status).to.equal("voided");
    });

    it("a PUT without a body does not replace the policy with an empty one (every limit gone)", async () => {
      const sw = (await w.pay.wallets.createSubWallet(w.aliceWallet, { name: "guarded", policy: { perPayment: "30.00", approvalAbove: "10.00" } })).id;
      const before = w.pay.wallets.getSubWallet(sw).policy;
      for (const headers of [{}, { "content-length": "0" }]) {
        const res = await raw(w, "PUT", `/v1/sub-wallets/${sw}/policy`, { headers: { authorization: `Bearer ${w.keys.alice}`, ...headers } });
        expect(res.status, res.text).to.equal(400);
        expect(res.body.error.code).to.equal("INVALID_INPUT");
      }
      expect(w.pay.wallets.getSubWallet(sw).policy).to.deep.equal(before);
      // An explicit empty policy is a choice the person may make.
      expect((await w.call("alice", "PUT", `/v1/sub-wallets/${sw}/policy`, {})).status).to.equal(200);
    });
  });
});
