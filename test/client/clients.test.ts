// The three HTTP clients against a listening server, compared with the library's own records: what
// the clients hand out is exactly what `pay.*` holds (bigint minor units, epoch ms), failures are
// AgentPayErrors with the server's code and request id, and the agent's code runs unchanged in-process.
import { expect } from "chai";
import { amount, isAgentPayError } from "../../src/index.ts";
import type { AuthorizeResult, Payment, RequestPaymentInput } from "../../src/index.ts";
import { AdminClient, AgentPayClient, AgentPayHttpError } from "../../src/client/index.ts";
import { openWorld, rejection, setUp } from "./helpers.ts";
import type { World } from "./helpers.ts";

const usd = (s: string) => amount(s, "USD");

describe("client: AdminClient, AgentPayClient and MerchantClient over HTTP", function () {
  this.timeout(60_000);
  let w: World;
  beforeEach(async () => {
    w = await openWorld();
  });
  afterEach(async () => {
    await w.close();
  });

  it("a person sets everything up with a person key; every result is the library's own record", async () => {
    const p = await setUp(w, { policy: { perPayment: "250.00", approvalAbove: "100.00", categories: { allow: ["4511"] } } });
    const { pay } = w;
    expect(await p.person.wallets.get(p.walletId)).to.deep.equal(pay.wallets.get(p.walletId));
    expect(await p.person.wallets.getSubWallet(p.subWalletId)).to.deep.equal(pay.wallets.getSubWallet(p.subWalletId));
    expect(await p.person.wallets.balance(p.walletId)).to.deep.equal(pay.wallets.balance(p.walletId));
    expect(await p.person.wallets.balance(p.subWalletId)).to.deep.equal(pay.wallets.balance(p.subWalletId));
    expect((await p.person.wallets.balance(p.subWalletId)).postedMinor).to.equal(50_000n);
    expect(await p.person.wallets.budget(p.subWalletId)).to.deep.equal(pay.wallets.budget(p.subWalletId));
    expect(await p.person.wallets.statement(p.walletId)).to.deep.equal(pay.wallets.statement(p.walletId));
    expect(await p.person.wallets.statement(p.subWalletId, { limit: 1 })).to.deep.equal(pay.wallets.statement(p.subWalletId, { limit: 1 }));
    expect(await p.person.agents.get(p.agentId)).to.deep.equal(pay.agents.get(p.agentId));
    const grants = await p.person.grants.list({ subWalletId: p.subWalletId });
    expect(grants.data).to.deep.equal(pay.grants.list({ subWalletId: p.subWalletId }));
    expect(await p.person.grants.get(grants.data[0]!.id)).to.deep.equal(pay.grants.get(grants.data[0]!.id));
    expect((await p.person.wallets.list()).data).to.deep.equal(pay.wallets.list({ ownerId: "alice" }));
    expect((await p.person.wallets.listSubWallets(p.walletId)).data).to.deep.equal(pay.wallets.listSubWallets(p.walletId));
    expect(await w.operator.merchants.get(p.merchantId)).to.deep.equal(pay.merchants.get(p.merchantId));
    const registered = await w.operator.merchants.register({ name: "Hotel Nord", category: "7011" });
    const { hash: _h, ...shownKey } = pay.apiKeys.get(registered.apiKey.apiKey.id);
    expect(registered.apiKey.apiKey, "a merchant's first key comes without its hash").to.deep.equal(shownKey);
    // The deposit was sent with the same key twice: one transfer.
    const again = await p.person.wallets.deposit(p.walletId, usd("1000.00"), { idempotencyKey: `seed-${p.walletId}` });
    expect(again.amountMinor).to.equal(100_000n);
    expect((await p.person.wallets.balance(p.walletId)).postedMinor).to.equal(50_000n);
    // The agent was registered with its public key only: no private key ever came back.
    expect(pay.agents.get(p.agentId).keys).to.have.length(1);
  });

  it("an agent pays, the merchant verifies offline and redeems; ids, amounts and times are the library's", async () => {
    const p = await setUp(w);
    const r = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("42.00"), reference: "order-1042" });
    if (r.status !== "approved") throw new Error(`expected approved, got ${r.status}`);
    const stored = w.pay.payments.get(r.paymentId);
    expect(r.expiresAtMs).to.equal(stored.expiresAtMs);
    expect(r.tokenId).to.equal(stored.tokenId);
    expect(r.decision).to.deep.equal(stored.decision);
    const verified = await p.merchant.verify(r.token);
    expect(verified).to.deep.equal(w.pay.tokens.verify(r.token, { merchantId: p.merchantId }));
    expect(verified.amount).to.deep.equal(usd("42.00"));
    const receipt = await p.merchant.redeem({ token: r.token, amount: usd("40.00") });
    expect(receipt).to.include({ paymentId: r.paymentId, capturedMinor: 4000n, releasedMinor: 200n, currency: "USD" });
    expect(await p.merchant.getPayment(r.paymentId)).to.deep.equal(w.pay.payments.get(r.paymentId));
    // A captured payment carries no token any more, even for its agent.
    expect(await p.agent.getPayment(r.paymentId)).to.deep.equal(w.pay.payments.get(r.paymentId));
    const e = await rejection(p.merchant.redeem({ token: r.token, amount: usd("1.00") }));
    expect(e).to.be.instanceOf(AgentPayHttpError);
    expect(isAgentPayError(e, "TOKEN_ALREADY_REDEEMED")).to.equal(true);
    expect(e.status).to.equal(409);
    expect(e.requestId).to.match(/^req_/);
    expect((await p.person.wallets.balance(p.subWalletId)).postedMinor).to.equal(46_000n);
  });

  it("the same agent code runs with pay.agentClient in-process and AgentPayClient over HTTP", async () => {
    const p = await setUp(w);
    // Typed against what both clients offer: this compiles only while their signatures agree.
    interface Payer {
      requestPayment(input: RequestPaymentInput): Promise<AuthorizeResult>;
      voidPayment(paymentId: string): Promise<Payment>;
      fetchToken(paymentId: string): Promise<{ paymentId: string; status: Payment["status"]; token?: string; expiresAtMs?: number }>;
    }
    const story = async (c: Payer) => {
      const r = await c.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("10.00") });
      const f = await c.fetchToken(r.paymentId);
      const v = await c.voidPayment(r.paymentId);
      return { r, f, v };
    };
    const local = await story(w.pay.agentClient({ agentId: p.agentId, privateKeyJwk: p.privateKeyJwk }));
    const remote = await story(p.agent);
    const shape = (x: unknown): unknown => (x === null || typeof x !== "object" ? typeof x
      : Array.isArray(x) ? x.map(shape) : Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, shape(v)])));
    expect(shape(remote)).to.deep.equal(shape(local));
    expect(remote.v).to.deep.equal(w.pay.payments.get(remote.r.paymentId));
    expect(remote.v.status).to.equal("voided");
    expect(remote.f).to.include({ paymentId: remote.r.paymentId, status: "authorized" });
  });

  it("above the threshold the agent waits; the person approves while it long-polls; the token redeems", async () => {
    const p = await setUp(w, { policy: { approvalAbove: "100.00" } });
    const r = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("150.00") });
    if (r.status !== "pending_approval") throw new Error(`expected pending_approval, got ${r.status}`);
    const waiting = p.agent.waitForApproval(r.paymentId, { timeoutMs: 60_000 });
    const pending = await p.person.approvals.listPending();
    expect(pending.data.map((a) => a.id)).to.deep.equal([r.approvalId]);
    expect(pending.data[0]).to.deep.equal(w.pay.approvals.get(r.approvalId));
    const outcome = await p.person.approvals.approve(r.approvalId, { note: "ok for the conference" });
    expect(outcome.approval).to.deep.equal(w.pay.approvals.get(r.approvalId));
    expect(outcome.result).to.include({ status: "approved", paymentId: r.paymentId });
    expect(outcome.result).to.not.have.property("token");
    const done = await waiting;
    if (done.status !== "approved") throw new Error(`expected approved, got ${done.status}`);
    expect(done.tokenId).to.equal(w.pay.payments.get(r.paymentId).tokenId);
    expect((await p.merchant.verify(done.token)).amount).to.deep.equal(usd("150.00"));
    expect((await p.merchant.redeem({ token: done.token, amount: usd("150.00") })).capturedMinor).to.equal(15_000n);
  });

  it("a denial while the agent waits comes back as denied; a wait that times out is still pending_approval", async () => {
    const p = await setUp(w, { policy: { approvalAbove: "100.00" } });
    const a = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("120.00") });
    const b = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("130.00") });
    if (a.status !== "pending_approval" || b.status !== "pending_approval") throw new Error("expected both to wait");
    const waiting = p.agent.waitForApproval(a.paymentId, { timeoutMs: 60_000 });
    await p.person.approvals.deny(a.approvalId, { note: "no" });
    expect(await waiting).to.deep.include({ status: "denied", paymentId: a.paymentId });
    const still = await p.agent.waitForApproval(b.paymentId, { timeoutMs: 1_500 });
    expect(still).to.deep.include({ status: "pending_approval", paymentId: b.paymentId, approvalId: b.approvalId });
    expect((await p.person.wallets.balance(p.subWalletId)).pendingDebitsMinor).to.equal(0n);
  });

  it("a decline is PAYMENT_DECLINED (402) with every reason and the request id; nothing moves", async () => {
    const p = await setUp(w, { policy: { perPayment: "200.00" } });
    const before = await p.person.wallets.balance(p.subWalletId);
    const e = await rejection(p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("250.00") }));
    expect(e).to.be.instanceOf(AgentPayHttpError);
    expect(e.code).to.equal("PAYMENT_DECLINED");
    expect(e.status).to.equal(402);
    expect(e.requestId).to.match(/^req_/);
    expect((e.details.reasons as Array<{ code: string }>).map((x) => x.code)).to.include("POLICY_PER_PAYMENT_EXCEEDED");
    expect(await p.person.wallets.balance(p.subWalletId)).to.deep.equal(before);
  });

  it("asking again with the same idempotencyKey (a retry) gets the first payment, nothing more", async () => {
    const p = await setUp(w);
    const input = { subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("12.50"), idempotencyKey: "order-77" };
    const first = await p.agent.requestPayment(input);
    const second = await p.agent.requestPayment(input);
    expect(second.paymentId).to.equal(first.paymentId);
    expect(w.pay.payments.list({ agentId: p.agentId })).to.have.length(1);
    const e = await rejection(p.agent.requestPayment({ ...input, amount: usd("13.00") }));
    expect(e.code).to.equal("IDEMPOTENCY_CONFLICT");
  });

  it("refund requests: the agent asks, the merchant lists, grants one and declines another", async () => {
    const p = await setUp(w);
    const r = await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("80.00") });
    if (r.status !== "approved") throw new Error("expected approved");
    await p.merchant.redeem({ token: r.token, amount: usd("80.00") });
    const ask = await p.agent.requestRefund({ paymentId: r.paymentId, amount: usd("30.00"), reason: "one seat cancelled" });
    expect(ask).to.deep.equal(w.pay.payments.getRefundRequest(ask.id));
    expect(ask).to.include({ status: "pending", amountMinor: 3000n });
    const listed = await p.merchant.refundRequests({ status: "pending" });
    expect(listed.data.map((x) => x.id)).to.deep.equal([ask.id]);
    const granted = await p.merchant.grantRefundRequest({ refundRequestId: ask.id });
    expect(granted.request).to.deep.equal(w.pay.payments.getRefundRequest(ask.id));
    expect(granted.refund.amountMinor).to.equal(3000n);
    const ask2 = await p.agent.requestRefund({ paymentId: r.paymentId, amount: usd("10.00") });
    const declined = await p.merchant.declineRefundRequest({ refundRequestId: ask2.id, reason: "non-refundable" });
    expect(declined).to.deep.equal(w.pay.payments.getRefundRequest(ask2.id));
    expect(declined.status).to.equal("declined");
    const refund = await p.merchant.refund({ paymentId: r.paymentId, amount: usd("5.00"), reason: "goodwill" });
    expect(refund.amountMinor).to.equal(500n);
    expect((await p.merchant.getPayment(r.paymentId)).refundedMinor).to.equal(3500n);
    const over = await rejection(p.merchant.refund({ paymentId: r.paymentId, amount: usd("50.00") }));
    expect(over.code).to.equal("REFUND_EXCEEDS_CAPTURE");
  });

  it("an agent reads only what is its own: budget, balance, grants, payments (paged)", async () => {
    const p = await setUp(w);
    const other = await setUp(w, { ownerId: "bob" });
    for (const v of ["1.00", "2.00", "3.00"]) await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd(v) });
    await other.agent.requestPayment({ subWalletId: other.subWalletId, merchantId: other.merchantId, amount: usd("9.00") });
    expect(await p.agent.getBudget(p.subWalletId)).to.deep.equal(w.pay.wallets.budget(p.subWalletId));
    expect(await p.agent.getBalance(p.subWalletId)).to.deep.equal(w.pay.wallets.balance(p.subWalletId));
    expect((await p.agent.listGrants()).data).to.deep.equal(w.pay.grants.list({ agentId: p.agentId }));
    const page1 = await p.agent.listPayments({ limit: 2 });
    expect(page1.hasMore).to.equal(true);
    const page2 = await p.agent.listPayments({ limit: 2, startingAfter: page1.nextCursor! });
    expect(page2.hasMore).to.equal(false);
    const all = [...page1.data, ...page2.data];
    expect(all.map((x) => x.id)).to.deep.equal(w.pay.payments.list({ agentId: p.agentId, limit: 10 }).map((x) => x.id));
    // Authorized payments come with their token for their own agent.
    expect(all.every((x) => typeof x.token === "string")).to.equal(true);
    const hidden = await rejection(p.agent.getBudget(other.subWalletId));
    expect(hidden.code).to.equal("NOT_FOUND");
    expect((await rejection(other.agent.getPayment(all[0]!.id))).code).to.equal("NOT_FOUND");
  });

  it("freeze stops the agent at once; unfreeze lets it pay again", async () => {
    const p = await setUp(w);
    const frozen = await p.person.wallets.freeze(p.subWalletId, { reason: "lost laptop" });
    expect(frozen.status).to.equal("frozen");
    const e = await rejection(p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("5.00") }));
    expect(e.code).to.equal("SUBWALLET_FROZEN");
    expect((await p.person.wallets.unfreeze(p.subWalletId)).status).to.equal("active");
    expect((await p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("5.00") })).status).to.equal("approved");
    const sw = await p.person.wallets.updatePolicy(p.subWalletId, { perPayment: "3.00" });
    expect(sw).to.deep.equal(w.pay.wallets.getSubWallet(p.subWalletId));
    expect(sw.policy.perPaymentMinor).to.equal(300n);
  });

  it("API keys: a person's key is rotated (grace) and revoked; the revoked one is refused", async () => {
    const created = await w.operator.apiKeys.create({ kind: "person", ownerId: "carol", name: "laptop" });
    const carol = new AdminClient({ baseUrl: w.url, apiKey: created.secret });
    await carol.wallets.create({ currency: "EUR", timeZone: "Europe/Berlin" });
    const { hash: _h, ...shown } = w.pay.apiKeys.get(created.apiKey.id);
    expect(created.apiKey).to.deep.equal(shown);
    const listed = await carol.apiKeys.list({ kind: "person", ownerId: "carol" });
    expect(listed.data.map((k) => k.id)).to.deep.equal([created.apiKey.id]);
    const rotated = await carol.apiKeys.rotate(created.apiKey.id, { grace: "15m" });
    const carol2 = new AdminClient({ baseUrl: w.url, apiKey: rotated.secret });
    expect((await carol2.wallets.list()).data).to.have.length(1);
    await carol2.apiKeys.revoke(created.apiKey.id);
    const e = await rejection(carol.wallets.list());
    expect(e.code).to.equal("UNAUTHENTICATED");
    expect(e.status).to.equal(401);
    expect((await rejection(new AdminClient({ baseUrl: w.url, apiKey: "apk_p_not_a_real_key_at_all" }).wallets.list())).code).to.equal("UNAUTHENTICATED");
  });

  it("an agent whose key is not registered is refused; a disabled agent too", async () => {
    const p = await setUp(w);
    const stranger = new AgentPayClient({ baseUrl: w.url, agentId: p.agentId, privateKeyJwk: (await import("../../src/index.ts").then((m) => m.generateAgentKey())).privateKeyJwk as never });
    const e = await rejection(stranger.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("1.00") }));
    expect(e.code).to.equal("INTENT_KEY_UNKNOWN");
    expect((await rejection(stranger.getBudget(p.subWalletId))).code).to.equal("INTENT_KEY_UNKNOWN");
    await p.person.agents.disable(p.agentId);
    expect((await rejection(p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: usd("1.00") }))).code).to.equal("AGENT_DISABLED");
  });

  it("bad input is refused before anything is sent, as a rejected promise (never a synchronous throw)", async () => {
    const p = await setUp(w);
    const calls: Array<[() => Promise<unknown>, string]> = [
      [() => p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: { minor: 1.5, currency: "USD" } as never }), "INVALID_AMOUNT"],
      [() => p.agent.requestPayment({ subWalletId: p.subWalletId, merchantId: p.merchantId, amount: { minor: 100n, currency: "XXY" } }), "UNKNOWN_CURRENCY"],
      [() => p.agent.requestPayment(null as never), "INVALID_INPUT"],
      [() => p.agent.getPayment("nope"), "INVALID_ID"],
      [() => p.agent.waitForApproval("pay_0123456789abcdefghjkmnpqrs", { timeoutMs: -1 }), "INVALID_INPUT"],
      [() => p.merchant.redeem({ token: "x", amount: 5 as never }), "INVALID_AMOUNT"],
      [() => p.person.wallets.deposit("wal_x", usd("1.00")), "INVALID_ID"],
      [() => p.person.apiKeys.create({ kind: "robot" as never }), "INVALID_INPUT"],
    ];
    for (const [call, code] of calls) {
      let promise: Promise<unknown> | undefined;
      expect(() => { promise = call(); }).to.not.throw();
      expect((await rejection(promise!)).code).to.equal(code);
    }
    expect(w.pay.payments.list({ agentId: p.agentId })).to.have.length(0);
  });
});
