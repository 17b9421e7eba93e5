import { expect } from "chai";
import { AgentPay, AgentPayError, isAgentPayError, verifyTokenOffline } from "../../src/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";
import { usd, world } from "./helpers.ts";

/** Every balance the scenario touches, for "nothing changed" checks. */
function snapshot(pay: AgentPay) {
  return { records: pay.engine.stats.records, check: pay.ledger.check().totals };
}

describe("payments: authorize → token → redeem, void, refund", () => {
  it("end to end through the public API: three merchants, one approval, one decline, a partial refund; it all reconciles", async () => {
    const w = await world();
    const { pay, client, travel, wallet } = w;
    const air = w.air.merchant.id;
    const hotel = w.hotel.merchant.id;

    // 1. Below the approval threshold: a token at once.
    const r1 = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("80.00"), reference: "flight-1" });
    expect(r1.status).to.equal("approved");
    if (r1.status !== "approved") throw new Error("unreachable");
    const claims = verifyTokenOffline(r1.token, pay.tokens.jwks(), { audience: air, nowMs: pay.clock.nowMs() });
    expect(claims.amount).to.deep.equal(usd("80.00"));
    expect(pay.wallets.balance(travel.id)).to.include({ availableMinor: 12000n, pendingDebitsMinor: 8000n });
    const receipt = await pay.payments.redeem({ token: r1.token, merchantId: air, amount: usd("78.50"), idempotencyKey: "cap-1" });
    expect(receipt).to.include({ capturedMinor: 7850n, releasedMinor: 150n });

    // 2. Above the threshold: the person approves, the agent fetches its token.
    const r2 = await client.requestPayment({ subWalletId: travel.id, merchantId: hotel, amount: usd("110.00"), reference: "hotel-1" });
    expect(r2.status).to.equal("pending_approval");
    if (r2.status !== "pending_approval") throw new Error("unreachable");
    expect(r2.decision.policy.reasons.map((r) => r.code)).to.deep.equal(["APPROVAL_THRESHOLD"]);
    expect(pay.wallets.balance(travel.id).pendingDebitsMinor).to.equal(0n); // nothing held while waiting
    expect((await client.fetchToken(r2.paymentId)).status).to.equal("pending_approval");
    const approved = await pay.approvals.approve(r2.approvalId, { by: "alice" });
    expect(approved.approval.status).to.equal("approved");
    const fetched = await client.fetchToken(r2.paymentId);
    expect(fetched.status).to.equal("authorized");
    await pay.payments.redeem({ token: fetched.token!, merchantId: hotel, amount: usd("110.00"), idempotencyKey: "cap-2" });

    // 3. A category the policy does not allow: declined with reasons, nothing moves.
    const before = pay.wallets.balance(travel.id);
    const err = await rejectsWith(client.requestPayment({ subWalletId: travel.id, merchantId: w.casino.merchant.id, amount: usd("10.00") }), "PAYMENT_DECLINED");
    expect((err.details.reasons as Array<{ code: string }>).map((r) => r.code)).to.deep.equal(["POLICY_CATEGORY_NOT_ALLOWED"]);
    expect(pay.wallets.balance(travel.id)).to.deep.equal(before);

    // 4. The airline refunds part of its capture.
    await pay.payments.refund({ paymentId: r1.paymentId, merchantId: air, amount: usd("18.50"), idempotencyKey: "rf-1" });

    // Reconcile to the minor unit: 200.00 budget − 78.50 − 110.00 + 18.50 = 30.00.
    expect(pay.wallets.balance(travel.id)).to.include({ postedMinor: 3000n, pendingDebitsMinor: 0n, availableMinor: 3000n });
    expect(pay.wallets.balance(wallet.id).postedMinor).to.equal(30000n);
    expect(pay.merchants.balanceMinor(air, "USD")).to.equal(6000n);
    expect(pay.merchants.balanceMinor(hotel, "USD")).to.equal(11000n);
    const statement = pay.wallets.statement(travel.id).entries;
    const net = statement.reduce((s, e) => (e.kind === "pending" ? s : s + (e.direction === "credit" ? e.amountMinor : -e.amountMinor)), 0n);
    expect(net).to.equal(3000n);
    expect(statement[statement.length - 1]!.balanceAfterMinor).to.equal(3000n);
    // The daily budget counts what was really spent: 78.50 + 110.00 − 18.50 refunded.
    expect(pay.wallets.budget(travel.id).daily.usedMinor).to.equal(17000n);
    const payments = pay.payments.list({ subWalletId: travel.id });
    expect(payments.map((p) => p.status).sort()).to.deep.equal(["captured", "captured", "declined"]);
    expect(pay.payments.get(r1.paymentId).refundedMinor).to.equal(1850n);
    expect(pay.ledger.check().problems).to.deep.equal([]);
    await pay.close();
  });

  it("200 concurrent redemptions of one token: exactly one capture", async () => {
    const w = await world();
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("50.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) =>
      w.pay.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("50.00"), idempotencyKey: `k-${i}` })));
    const ok = results.filter((x) => x.status === "fulfilled");
    expect(ok).to.have.length(1);
    for (const x of results) if (x.status === "rejected") expect(x.reason.code).to.equal("TOKEN_ALREADY_REDEEMED");
    expect(w.pay.merchants.balanceMinor(w.air.merchant.id, "USD")).to.equal(5000n);
    expect(w.pay.ledger.check().ok).to.equal(true);
  });

  it("a redemption retried across a restart returns the original receipt; a new key is refused", async () => {
    const w = await world();
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("50.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    const first = await w.pay.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("40.00"), idempotencyKey: "cap" });
    await w.pay.close();
    const again = await AgentPay.open({ store: w.store, clock: w.clock, delivery: false, background: false, risk: "off" });
    const retry = await again.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("40.00"), idempotencyKey: "cap" });
    expect(retry).to.deep.equal(first);
    await rejectsWith(again.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("40.00"), idempotencyKey: "other" }), "TOKEN_ALREADY_REDEEMED");
    await rejectsWith(again.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("39.00"), idempotencyKey: "cap" }), "IDEMPOTENCY_CONFLICT");
    expect(again.merchants.balanceMinor(w.air.merchant.id, "USD")).to.equal(4000n);
    await again.close();
  });

  it("every rejection path of verify and redeem has its own code and changes nothing", async () => {
    const w = await world();
    const { pay, client, travel } = w;
    const air = w.air.merchant.id;
    const r = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("50.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    const before = snapshot(pay);
    const redeem = (token: string, merchant = air, amt = usd("50.00"), key = `k${Math.random()}`) =>
      pay.payments.redeem({ token, merchantId: merchant, amount: amt, idempotencyKey: key });
    const [h, p, s] = r.token.split(".") as [string, string, string];
    const flip = (x: string) => (x[5] === "A" ? `${x.slice(0, 5)}B${x.slice(6)}` : `${x.slice(0, 5)}A${x.slice(6)}`);
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "agentpay-token+jwt", kid: "x" })).toString("base64url");
    const badTyp = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h, "base64url").toString()), typ: "JWT" })).toString("base64url");
    const badKid = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h, "base64url").toString()), kid: "tkey_unknown0000000000000000" })).toString("base64url");
    const cases: Array<[string, Promise<unknown>]> = [
      ["TOKEN_MALFORMED", redeem("not-a-token")],
      ["TOKEN_ALG_NOT_ALLOWED", redeem(`${none}.${p}.`)],
      ["TOKEN_TYPE_INVALID", redeem(`${badTyp}.${p}.${s}`)],
      ["TOKEN_KEY_UNKNOWN", redeem(`${badKid}.${p}.${s}`)],
      ["TOKEN_SIGNATURE_INVALID", redeem(`${h}.${p}.${flip(s)}`)],
      ["TOKEN_AUDIENCE_MISMATCH", redeem(r.token, w.hotel.merchant.id)],
      ["TOKEN_AMOUNT_EXCEEDED", redeem(r.token, air, usd("50.01"))],
      ["CURRENCY_MISMATCH", pay.payments.redeem({ token: r.token, merchantId: air, amount: { minor: 100n, currency: "EUR" }, idempotencyKey: "e" })],
      ["INVALID_AMOUNT", redeem(r.token, air, usd("0.00"))],
      ["INVALID_ID", redeem(r.token, "mer_bad id")],
    ];
    for (const [code, p2] of cases) await rejectsWith(p2, code);
    expect(snapshot(pay)).to.deep.equal(before);
    // Expired: past the token's lifetime, before the sweeper ran.
    w.clock.advance(10 * 60_000);
    await rejectsWith(redeem(r.token), "TOKEN_EXPIRED");
    expect(snapshot(pay)).to.deep.equal(before);
  });

  it("void by the agent or the merchant releases the hold and the budget; the sweeper expires the rest", async () => {
    const w = await world();
    const { pay, client, travel } = w;
    const air = w.air.merchant.id;
    const a = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("30.00") });
    const b = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("20.00") });
    const c = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("10.00") });
    if (a.status !== "approved" || b.status !== "approved" || c.status !== "approved") throw new Error("expected approvals");
    expect(pay.wallets.budget(travel.id).daily.usedMinor).to.equal(6000n);
    expect((await client.voidPayment(a.paymentId)).status).to.equal("voided");
    expect((await pay.payments.voidByMerchant({ merchantId: air, token: b.token })).status).to.equal("voided");
    await rejectsWith(pay.payments.redeem({ token: a.token, merchantId: air, amount: usd("30.00"), idempotencyKey: "x" }), "TOKEN_VOIDED");
    expect(pay.wallets.budget(travel.id).daily.usedMinor).to.equal(1000n);
    w.clock.advance(10 * 60_000 + 60_000 - 1);
    expect(await pay.payments.expireDue()).to.equal(0);
    w.clock.advance(1);
    expect(await pay.payments.expireDue()).to.equal(1);
    expect(pay.payments.get(c.paymentId).status).to.equal("expired");
    expect(pay.wallets.balance(travel.id)).to.include({ availableMinor: 20000n, pendingDebitsMinor: 0n });
    expect(pay.wallets.budget(travel.id).daily.usedMinor).to.equal(0n);
    expect((await client.voidPayment(c.paymentId)).status).to.equal("expired"); // already released: idempotent
    expect(pay.ledger.check().ok).to.equal(true);
  });

  it("the sweeper isolates a payment it cannot void: the other expired holds are still released", async () => {
    const w = await world();
    const { pay, client, travel } = w;
    const good = await client.requestPayment({ subWalletId: travel.id, merchantId: w.air.merchant.id, amount: usd("10.00") });
    const bad = await client.requestPayment({ subWalletId: travel.id, merchantId: w.hotel.merchant.id, amount: usd("20.00") });
    // A record the flow cannot act on (as a corrupt or legacy merchant record would be): its void's
    // callback event is refused, so voiding that one payment throws.
    const { merchantKey } = await import("../../src/merchants/index.ts");
    await pay.engine.submit((tx) => tx.put(merchantKey(w.hotel.merchant.id), {
      ...tx.get<object>(merchantKey(w.hotel.merchant.id))!, callbackUrl: "ftp://not-a-webhook",
    }));
    w.clock.advance(11 * 60_000);
    expect(await pay.payments.expireDue()).to.equal(1);
    expect(pay.payments.get(good.paymentId).status).to.equal("expired");
    expect(pay.payments.get(bad.paymentId).status).to.equal("authorized");
    expect(pay.wallets.balance(travel.id).pendingDebitsMinor).to.equal(2000n);
    expect(await pay.payments.expireDue()).to.equal(0); // retried later, not in a tight loop
    expect(pay.ledger.check().ok).to.equal(true);
  });

  it("refunds: never more than captured in total, idempotent, restore the budget", async () => {
    const w = await world();
    const { pay, client, travel } = w;
    const air = w.air.merchant.id;
    const r = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("60.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    await rejectsWith(pay.payments.refund({ paymentId: r.paymentId, merchantId: air, amount: usd("1.00"), idempotencyKey: "early" }), "PAYMENT_NOT_CAPTURED");
    await pay.payments.redeem({ token: r.token, merchantId: air, amount: usd("60.00"), idempotencyKey: "cap" });
    const one = await pay.payments.refund({ paymentId: r.paymentId, merchantId: air, amount: usd("40.00"), idempotencyKey: "r1" });
    expect(await pay.payments.refund({ paymentId: r.paymentId, merchantId: air, amount: usd("40.00"), idempotencyKey: "r1" })).to.deep.equal(one);
    await rejectsWith(pay.payments.refund({ paymentId: r.paymentId, merchantId: air, amount: usd("20.01"), idempotencyKey: "r2" }), "REFUND_EXCEEDS_CAPTURE");
    await rejectsWith(pay.payments.refund({ paymentId: r.paymentId, merchantId: w.hotel.merchant.id, amount: usd("1.00"), idempotencyKey: "r3" }), "PAYMENT_NOT_FOUND");
    await pay.payments.refund({ paymentId: r.paymentId, merchantId: air, amount: usd("20.00"), idempotencyKey: "r4" });
    expect(pay.wallets.balance(travel.id).postedMinor).to.equal(20000n);
    expect(pay.wallets.budget(travel.id).daily.usedMinor).to.equal(0n);
    expect(pay.ledger.check().ok).to.equal(true);
  });

  it("a refund after the sub-wallet was closed goes back to the wallet", async () => {
    const w = await world();
    const air = w.air.merchant.id;
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: air, amount: usd("30.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    await w.pay.payments.redeem({ token: r.token, merchantId: air, amount: usd("30.00"), idempotencyKey: "c" });
    await w.pay.wallets.close(w.travel.id);
    const walletBefore = w.pay.wallets.balance(w.wallet.id).postedMinor;
    await w.pay.payments.refund({ paymentId: r.paymentId, merchantId: air, amount: usd("10.00"), idempotencyKey: "r" });
    expect(w.pay.wallets.balance(w.wallet.id).postedMinor).to.equal(walletBefore + 1000n);
    expect(w.pay.ledger.check().ok).to.equal(true);
  });

  it("authorize is idempotent on the agent's key, refuses replays, and checks the grant inside the command", async () => {
    const w = await world();
    const { pay, client, travel } = w;
    const air = w.air.merchant.id;
    const body = { action: "pay", subWalletId: travel.id, merchantId: air, amount: "10.00", currency: "USD", idempotencyKey: "same" };
    const jws = await client.sign(body);
    const first = await pay.payments.authorize(jws);
    // A resent JWS is a replay: it never hands out the token again.
    await rejectsWith(pay.payments.authorize(jws), "INTENT_REPLAYED");
    // An honest retry signs a fresh intent with the same key and gets the original result.
    expect(await pay.payments.authorize(await client.sign(body))).to.deep.equal(first);
    await rejectsWith(pay.payments.authorize(await client.sign({ ...body, amount: "11.00" })), "IDEMPOTENCY_CONFLICT");
    expect(pay.payments.list({ agentId: w.agent.id })).to.have.length(1);
    // Once the payment has moved on, a retry says so instead of returning a dead token.
    await client.voidPayment(first.paymentId);
    const retried = await pay.payments.authorize(await client.sign(body));
    expect(retried).to.deep.include({ status: "voided", paymentId: first.paymentId });
    expect(retried).to.not.have.property("token");
    // After revocation a retry gets nothing, not even the old result.
    await pay.grants.revoke(w.grant.id);
    await rejectsWith(pay.payments.authorize(await client.sign(body)), "GRANT_REVOKED");
    await rejectsWith(client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("1.00") }), "GRANT_REVOKED");
    await pay.wallets.freeze(travel.id);
    await rejectsWith(client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("1.00") }), "SUBWALLET_FROZEN");
  });


  it("bad intents are refused with clear codes and change nothing", async () => {
    const w = await world();
    const { pay, client, travel } = w;
    const air = w.air.merchant.id;
    const before = snapshot(pay);
    const base = { action: "pay", subWalletId: travel.id, merchantId: air, amount: "10.00", currency: "USD", idempotencyKey: "k" };
    const cases: Array<[string, unknown]> = [
      ["INVALID_AMOUNT", { ...base, amount: "-1.00" }],
      ["INVALID_AMOUNT", { ...base, amount: "0.001" }],
      ["INVALID_AMOUNT", { ...base, amount: 10 }],
      ["INVALID_AMOUNT", { ...base, amount: "0" }],
      ["INVALID_AMOUNT", { ...base, amount: "9".repeat(50) }],
      ["UNKNOWN_CURRENCY", { ...base, currency: "XXX" }],
      ["INVALID_INPUT", { ...base, extra: 1 }],
      ["INVALID_INPUT", { ...base, action: "steal" }],
      ["INVALID_ID", { ...base, merchantId: "skyair" }],
      ["INVALID_ID", { ...base, idempotencyKey: "" }],
      ["MERCHANT_NOT_FOUND", { ...base, merchantId: "mer_00000000000000" }],
      ["INVALID_INPUT", "just a string"],
    ];
    const nonces = () => [...pay.engine.scan("nn/")].length;
    const usedBefore = nonces();
    for (const [code, body] of cases) {
      const jws = await client.sign(body);
      await rejectsWith(pay.payments.authorize(jws), code);
      // Each signed intent is used once, refused or not: resent, it is a replay.
      await rejectsWith(pay.payments.authorize(jws), "INTENT_REPLAYED");
    }
    await rejectsWith(pay.payments.authorize("garbage"), "INTENT_MALFORMED");
    // Nothing changed but the intents' used nonces.
    expect(nonces() - usedBefore).to.equal(cases.length);
    expect(snapshot(pay)).to.deep.equal({ ...before, records: before.records + cases.length });
    // A currency other than the wallet's is declined by the policy, with its reason.
    const err = await rejectsWith(pay.payments.authorize(await client.sign({ ...base, currency: "EUR", idempotencyKey: "eur" })), "PAYMENT_DECLINED");
    expect(JSON.stringify(err.details)).to.contain("POLICY_CURRENCY_MISMATCH");
  });

  it("merchant callbacks are queued with agent-initiated headers, and notifications per the person's rules", async () => {
    const w = await world();
    const { pay, client, travel } = w;
    const r = await client.requestPayment({ subWalletId: travel.id, merchantId: w.air.merchant.id, amount: usd("10.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    await pay.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("10.00"), idempotencyKey: "c" });
    const events = [...pay.engine.scan<{ type: string; deliveryIds: string[]; subject: Record<string, string> }>("ev/")].map(([, e]) => e);
    const captured = events.find((e) => e.type === "payment.captured")!;
    expect(captured.subject).to.include({ agentId: w.agent.id, grantId: w.grant.id, merchantId: w.air.merchant.id });
    const hooks = pay.events.deliveries((captured as unknown as { id: string }).id).filter((d) => d.destination.kind === "webhook");
    expect(hooks).to.have.length(1);
    const dest = hooks[0]!.destination as { url: string; headers: Record<string, string>; secretRef: string };
    expect(dest.url).to.equal("https://skyair.example/cb");
    expect(dest.headers).to.include({ "AgentPay-Initiator": "agent", "AgentPay-Agent-Id": w.agent.id, "AgentPay-Grant-Id": w.grant.id });
    expect(JSON.stringify(hooks)).to.not.contain(w.air.callbackSecret);
    expect(events.filter((e) => e.type === "notification")).to.have.length(1);
  });

  it("errors are AgentPayErrors and never carry the token", async () => {
    const w = await world();
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("5.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    await w.pay.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("5.00"), idempotencyKey: "a" });
    try {
      await w.pay.payments.redeem({ token: r.token, merchantId: w.air.merchant.id, amount: usd("5.00"), idempotencyKey: "b" });
      expect.fail("should have thrown");
    } catch (e) {
      expect(e).to.be.instanceOf(AgentPayError);
      expect(isAgentPayError(e, "TOKEN_ALREADY_REDEEMED")).to.equal(true);
      expect(JSON.stringify((e as AgentPayError).toJSON()) + (e as Error).message).to.not.contain(r.token.split(".")[2]!);
    }
  });
});

describe("payments: revocation races", () => {
  it("a grant revoked while 100 payment intents are queued: none is authorized after the revocation", async () => {
    // Observe the engine's commit order: observers run as each command is applied.
    const order: string[] = [];
    const w = await world();
    w.pay.engine.observe("pm/", (_k, _b, a) => { if ((a as { status: string }).status === "authorized") order.push("paid"); });
    w.pay.engine.observe("gr/", (_k, _b, a) => { if ((a as { status: string }).status === "revoked") order.push("revoked"); });
    await w.pay.wallets.fundSubWallet(w.travel.id, usd("150.00"), { idempotencyKey: "more" });
    const intents = await Promise.all(Array.from({ length: 100 }, (_, i) => w.client.sign({
      action: "pay", subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: "1.00", currency: "USD", idempotencyKey: `q${i}`,
    })));
    const results = Promise.allSettled(intents.map((jws, i) =>
      i === 50 ? w.pay.grants.revoke(w.grant.id).then(() => w.pay.payments.authorize(jws)) : w.pay.payments.authorize(jws)));
    const settled = await results;
    const ok = settled.filter((s) => s.status === "fulfilled").length;
    const revoked = settled.filter((s) => s.status === "rejected" && (s.reason as { code: string }).code === "GRANT_REVOKED").length;
    expect(ok + revoked).to.equal(100);
    expect(revoked).to.be.greaterThan(0);
    const cut = order.indexOf("revoked");
    expect(cut).to.be.greaterThan(-1);
    expect(order.slice(cut + 1)).to.not.include("paid");
    expect(order.filter((x) => x === "paid")).to.have.length(ok);
    expect(w.pay.wallets.balance(w.travel.id).pendingDebitsMinor).to.equal(BigInt(ok) * 100n);
  });
});
