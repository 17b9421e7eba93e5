// ACP's delegated payment on agentpay's server, checked against the published ACP specification
// (test/fixtures/acp: openapi.delegate_payment.yaml and schema.delegate_payment.json of
// agentic-commerce-protocol, API version 2026-04-17): the requests we send are valid ACP requests, every
// answer is one of the documented statuses with a body of the documented schema; the allowance becomes
// one grant-limited payment whose token only the named merchant redeems.
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect } from "chai";
import { parse as parseYaml } from "yaml";
import { buildPayIntent, signIntent, verifyTokenOffline } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import type { RunningServer } from "../../src/http/index.ts";
import { moneyState, usd, x402World } from "./helpers.ts";
import type { X402World } from "./helpers.ts";

const fixture = (f: string) => readFileSync(new URL(`../fixtures/acp/${f}`, import.meta.url), "utf8");
const openapi = parseYaml(fixture("openapi.delegate_payment.yaml")) as { paths: Record<string, { post: { responses: Record<string, unknown> } }> };
const bundle = JSON.parse(fixture("schema.delegate_payment.json")) as { $id: string };
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ ...openapi, $id: "acp-openapi" });
ajv.addSchema(bundle);
const fromOpenApi = (name: string) => ajv.compile({ $ref: `acp-openapi#/components/schemas/${name}` });
const fromBundle = (name: string) => ajv.compile({ $ref: `${bundle.$id}#/$defs/${name}` });
const validRequest = fromOpenApi("DelegatePaymentRequest");
const validResponse = fromOpenApi("DelegatePaymentResponse");
const validError = fromOpenApi("Error");
const validRequestBundle = fromBundle("DelegatePaymentRequest");
const validResponseBundle = fromBundle("DelegatePaymentResponse");
const documented = Object.keys(openapi.paths["/agentic_commerce/delegate_payment"]!.post.responses);

interface Allowance { max_amount: number; currency: string; merchant_id: string; checkout_session_id: string; expires_at: string; reason: "one_time" }

describe("ACP delegate_payment (agentpay as the payment provider)", function () {
  this.timeout(60_000);
  let w: X402World;
  let server: RunningServer;
  let seq = 0;
  beforeEach(async () => {
    w = await x402World({ policy: { perPayment: "50.00", approvalAbove: "30.00" } });
    server = await serve(w.pay, { port: 0, rateLimit: false, maxWaitS: 1 });
  });
  afterEach(async () => { await server.close(); });

  function request(o: Partial<Allowance> & { number?: string; cardType?: "fpan" | "network_token"; risk?: unknown[]; metadata?: Record<string, string> } = {}) {
    const allowance: Allowance = {
      reason: "one_time", max_amount: o.max_amount ?? 2000, currency: o.currency ?? "usd", merchant_id: o.merchant_id ?? w.merchantA,
      checkout_session_id: o.checkout_session_id ?? `csn_${++seq}`, expires_at: o.expires_at ?? new Date(Date.now() + 3_600_000).toISOString(),
    };
    return {
      payment_method: {
        type: "card", card_number_type: o.cardType ?? "network_token", number: o.number ?? w.subWalletId, display_card_funding_type: "prepaid",
        display_brand: "agentpay", virtual: true, metadata: {},
      },
      allowance,
      risk_signals: o.risk ?? [{ type: "card_testing", score: 3, action: "authorized" }],
      metadata: o.metadata ?? { campaign: "q4" },
    };
  }

  /** The agent's signed intent for an allowance (what Authorization: Bearer carries). */
  function intentFor(body: ReturnType<typeof request>, key: string, over: { amount?: string; merchantId?: string } = {}): Promise<string> {
    const a = body.allowance;
    return signIntent(w.agentJwk, {
      agentId: w.agentId, nowMs: Date.now(),
      body: buildPayIntent({
        // A body that names no sub-wallet or merchant of agentpay is still sent with a well-formed intent.
        subWalletId: body.payment_method.number.startsWith("sw_") ? body.payment_method.number : w.subWalletId,
        merchantId: over.merchantId ?? (a.merchant_id.startsWith("mer_") ? a.merchant_id : w.merchantA),
        amount: over.amount ? usd(over.amount) : { minor: BigInt(a.max_amount), currency: a.currency.toUpperCase() },
        reference: a.checkout_session_id, idempotencyKey: key,
      }),
    });
  }

  async function post(body: unknown, headers: Record<string, string | undefined>) {
    const h: Record<string, string> = { "content-type": "application/json" };
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
    const r = await fetch(`${server.url}/agentic_commerce/delegate_payment`, { method: "POST", headers: h, body: typeof body === "string" ? body : JSON.stringify(body) });
    const json = await r.json() as Record<string, unknown>;
    expect(documented, `status ${r.status} is documented`).to.include(String(r.status));
    if (r.status === 201) {
      expect(validResponse(json), JSON.stringify(validResponse.errors)).to.equal(true);
      expect(validResponseBundle(json), JSON.stringify(validResponseBundle.errors)).to.equal(true);
    }
    return { status: r.status, body: json, headers: r.headers };
  }

  const send = async (body: ReturnType<typeof request>, key: string, extra: Record<string, string | undefined> = {}) =>
    post(body, { authorization: `Bearer ${await intentFor(body, key)}`, "api-version": "2026-04-17", "idempotency-key": key, ...extra });

  it("our requests are valid ACP DelegatePaymentRequests", () => {
    const body = request();
    expect(validRequest(body), JSON.stringify(validRequest.errors)).to.equal(true);
    expect(validRequestBundle(body), JSON.stringify(validRequestBundle.errors)).to.equal(true);
  });

  it("201: the vault token is a Token Pay token for the allowance's merchant, capped at max_amount, redeemable once", async () => {
    const body = request({ max_amount: 2000, metadata: { campaign: "q4", source: "chat" } });
    const r = await send(body, "idem-ok-1");
    expect(r.status).to.equal(201);
    const token = r.body.id as string;
    const claims = verifyTokenOffline(token, w.pay.tokens.jwks(), { audience: w.merchantA, issuer: "agentpay" });
    expect(claims.amount).to.deep.equal(usd("20.00"));
    const metadata = r.body.metadata as Record<string, string>;
    expect(metadata).to.include({ campaign: "q4", source: "agentpay", merchant_id: w.merchantA, idempotency_key: "idem-ok-1", payment_id: claims.paymentId });
    expect(Date.parse(metadata.expires_at!)).to.be.at.most(Date.parse(body.allowance.expires_at));
    const p = w.pay.payments.get(claims.paymentId!);
    expect(p).to.deep.include({ status: "authorized", amountMinor: 2000n, merchantId: w.merchantA, reference: body.allowance.checkout_session_id, agentId: w.agentId });
    // Another merchant cannot redeem it; the named one can, for up to max_amount, once.
    const redeem = (key: string, value: string, apiKey: string) => fetch(`${server.url}/v1/payments/redeem`, {
      method: "POST", headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", "idempotency-key": key }, body: JSON.stringify({ token, amount: { value, currency: "USD" } }),
    });
    expect((await redeem("r0", "5.00", w.keyB)).status).to.equal(403);
    expect((await redeem("r1", "20.01", w.keyA)).status).to.equal(422);
    expect((await redeem("r2", "18.50", w.keyA)).status).to.equal(201);
    expect((await redeem("r3", "1.00", w.keyA)).status).to.equal(409);
    expect(w.pay.payments.get(claims.paymentId!).capturedMinor).to.equal(1850n);
  });

  it("idempotency as ACP §5 has it: replay, conflict, key required; 5 concurrent sends make one payment", async () => {
    const body = request();
    const first = await send(body, "idem-2");
    const replay = await send(body, "idem-2");
    expect(replay.status).to.equal(201);
    expect(replay.body).to.deep.equal(first.body);
    expect(replay.headers.get("idempotent-replayed")).to.equal("true");
    const conflict = await send({ ...body, metadata: { campaign: "q5" } }, "idem-2");
    expect(conflict.status).to.equal(422);
    expect(conflict.body).to.deep.include({ type: "invalid_request", code: "idempotency_conflict" });
    expect(validError(conflict.body)).to.equal(true);
    const noKey = await post(body, { authorization: `Bearer ${await intentFor(body, "idem-3")}`, "api-version": "2026-04-17" });
    expect(noKey.status).to.equal(400);
    expect(noKey.body).to.deep.equal({ type: "invalid_request", code: "idempotency_key_required", message: "Idempotency-Key header is required" });
    const once = request();
    const many = await Promise.all(Array.from({ length: 5 }, () => send(once, "idem-4")));
    expect(many.map((m) => m.status).filter((s) => s === 201).length).to.be.greaterThan(0);
    for (const m of many) expect([201, 409]).to.include(m.status);
    const ids = new Set(many.filter((m) => m.status === 201).map((m) => (m.body.metadata as Record<string, string>).payment_id));
    expect(ids.size).to.equal(1);
    expect(w.pay.payments.list({ agentId: w.agentId }).filter((p) => p.reference === once.allowance.checkout_session_id)).to.have.length(1);
  });

  it("API-Version: missing or unsupported → 400 with supported_versions (the RFC's codes)", async () => {
    const body = request();
    for (const v of [undefined, "2024-01-01"]) {
      const r = await post(body, { authorization: `Bearer ${await intentFor(body, "k")}`, "idempotency-key": "k", "api-version": v });
      expect(r.status).to.equal(400);
      expect(r.body.supported_versions).to.deep.equal(["2026-04-17", "2026-01-30", "2026-01-16", "2025-12-12", "2025-09-29"]);
      expect(r.body.code).to.equal(v === undefined ? "missing_api_version" : "unsupported_api_version");
    }
  });

  it("refusals (4xx in ACP's error shape, nothing moves): bad or foreign intent, a real card, a mismatched allowance, expiry, blocked risk, the rules", async () => {
    const state = moneyState(w);
    const check = (r: { status: number; body: Record<string, unknown> }, status: number, param?: string) => {
      expect(r.status, JSON.stringify(r.body)).to.equal(status);
      if (status !== 401) expect(validError(r.body), JSON.stringify(validError.errors)).to.equal(true);
      if (param) expect(r.body.param).to.equal(param);
    };
    const body = request();
    // 401, as the published example has it.
    const none = await post(body, { "api-version": "2026-04-17", "idempotency-key": "a1" });
    check(none, 401);
    expect(none.body).to.deep.include({ type: "unauthorized", code: "unauthorized" });
    check(await post(body, { authorization: "Bearer not.a.jwsatall", "api-version": "2026-04-17", "idempotency-key": "a2" }), 401);
    // A real card number: refused, never echoed.
    const card = await send(request({ cardType: "fpan", number: "4242424242424242" }), "a3");
    check(card, 422, "$.payment_method.number");
    expect(JSON.stringify(card.body)).to.not.include("4242424242424242");
    // The signed intent must say what the allowance says.
    const a4 = request({ max_amount: 2000 });
    check(await post(a4, { authorization: `Bearer ${await intentFor(a4, "a4", { amount: "20.01" })}`, "api-version": "2026-04-17", "idempotency-key": "a4" }), 422, "$.allowance.max_amount");
    const a5 = request();
    check(await post(a5, { authorization: `Bearer ${await intentFor(a5, "a5", { merchantId: w.merchantB })}`, "api-version": "2026-04-17", "idempotency-key": "a5" }), 422, "$.allowance.merchant_id");
    const a6 = request();
    check(await post(a6, { authorization: `Bearer ${await intentFor(a6, "a6-signed")}`, "api-version": "2026-04-17", "idempotency-key": "a6" }), 422, "Idempotency-Key");
    check(await send(request({ expires_at: new Date(Date.now() - 1000).toISOString() }), "a7"), 422, "$.allowance.expires_at");
    check(await send(request({ expires_at: new Date(Date.now() + 60_000).toISOString() }), "a8"), 422, "$.allowance.expires_at");
    check(await send(request({ risk: [{ type: "card_testing", score: 99, action: "blocked" }] }), "a9"), 422, "$.risk_signals");
    check(await send(request({ merchant_id: "acme" }), "a10"), 400, "$.allowance.merchant_id");
    check(await send(request({ currency: "USD" }), "a11"), 400, "$.allowance.currency");
    const malformed = await post({ ...request(), extra: 1 }, { authorization: `Bearer ${await intentFor(request(), "a12")}`, "api-version": "2026-04-17", "idempotency-key": "a12" });
    check(malformed, 400);
    // The sub-wallet's rules: above perPayment → declined, with agentpay's code in a header.
    const declined = await send(request({ max_amount: 6000 }), "a13");
    check(declined, 422);
    expect(declined.headers.get("agentpay-error-code")).to.equal("PAYMENT_DECLINED");
    expect(declined.body.message).to.match(/POLICY_PER_PAYMENT/);
    const moved = moneyState(w);
    expect(moved.sub).to.equal(state.sub);
    expect(w.pay.payments.list({ agentId: w.agentId }).every((p) => p.status === "declined")).to.equal(true);
  });

  it("a payment that needs the person: 409 idempotency_in_flight with Retry-After; once approved, the same request gets the token", async () => {
    const body = request({ max_amount: 4000 });
    const r1 = await send(body, "appr-1");
    expect(r1.status).to.equal(409);
    expect(r1.body).to.deep.include({ type: "invalid_request", code: "idempotency_in_flight" });
    expect(validError(r1.body)).to.equal(true);
    expect(r1.headers.get("retry-after")).to.equal("5");
    const paymentId = r1.headers.get("agentpay-payment-id")!;
    expect(w.pay.payments.get(paymentId).status).to.equal("pending_approval");
    const again = await send(body, "appr-1");
    expect(again.status).to.equal(409);
    await w.pay.approvals.approve(w.pay.payments.get(paymentId).approvalId!);
    const r2 = await send(body, "appr-1");
    expect(r2.status).to.equal(201);
    expect((r2.body.metadata as Record<string, string>).payment_id).to.equal(paymentId);
    expect(w.pay.payments.list({ agentId: w.agentId })).to.have.length(1);
  });
});
