// agentpay as an x402 facilitator over HTTP (/x402/supported, /verify, /settle): who may call, the
// answers against the served OpenAPI document, exactly one settle, idempotent retries; and the merchant
// middleware settling through it (a merchant process that does not embed agentpay).
import { expect } from "chai";
import { serve } from "../../src/http/index.ts";
import type { RunningServer } from "../../src/http/index.ts";
import { PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, decodePaymentRequired, decodePaymentResponse, encodeHeader, fetchWithPayment } from "../../src/x402/index.ts";
import type { PaymentPayload, PaymentRequirements } from "../../src/x402/index.ts";
import { OpenApiChecker } from "../http/helpers.ts";
import { FRAMEWORKS, captures, moneyState, startShop, usd, x402World } from "./helpers.ts";
import type { X402World } from "./helpers.ts";

describe("x402 facilitator routes", function () {
  this.timeout(60_000);
  let w: X402World;
  let server: RunningServer;
  let api: OpenApiChecker;
  let personKey: string;

  beforeEach(async () => {
    w = await x402World();
    server = await serve(w.pay, { port: 0, rateLimit: false });
    api = new OpenApiChecker(await (await fetch(`${server.url}/openapi.json`)).json());
    personKey = (await w.pay.apiKeys.create({ kind: "person", ownerId: "alice" })).secret;
  });
  afterEach(async () => { await server.close(); });

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const r = await fetch(`${server.url}${path}`, {
      method, headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    const res = { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers, text };
    api.check(method, path, res);
    return res;
  }

  /** A payment for merchant A's offer, as an agent sends it. */
  async function payment(merchantId = w.merchantA, price = "0.25", reference = "x402 GET /thing #abc"): Promise<{ payload: PaymentPayload; requirements: PaymentRequirements; paymentId: string }> {
    const requirements: PaymentRequirements = {
      scheme: "agentpay-token", network: "agentpay:agentpay", amount: usd(price).minor.toString(), asset: "USD", payTo: merchantId, maxTimeoutSeconds: 300,
      extra: { issuer: "agentpay", merchantId, currency: "USD", decimals: 2, reference },
    };
    const r = await w.client.requestPayment({ subWalletId: w.subWalletId, merchantId, amount: usd(price), reference });
    if (r.status !== "approved") throw new Error(r.status);
    return { payload: { x402Version: 2, resource: { url: "https://shop.example/thing" }, accepted: requirements, payload: { token: r.token } }, requirements, paymentId: r.paymentId };
  }

  it("GET /x402/supported is public and names the ledger scheme and network", async () => {
    const r = await call("GET", "/x402/supported");
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.equal({ kinds: [{ x402Version: 2, scheme: "agentpay-token", network: "agentpay:agentpay", extra: { issuer: "agentpay" } }], extensions: [], signers: {} });
  });

  it("verify and settle need the merchant the requirements pay: none 401, a person 403, another merchant 403", async () => {
    const { payload, requirements } = await payment();
    const body = { x402Version: 2, paymentPayload: payload, paymentRequirements: requirements };
    const state = moneyState(w);
    for (const path of ["/x402/verify", "/x402/settle"]) {
      expect((await call("POST", path, body)).status).to.equal(401);
      expect((await call("POST", path, body, { authorization: "Bearer apk_notakeyatall" })).status).to.equal(401);
      expect((await call("POST", path, body, { authorization: `Bearer ${personKey}` })).status).to.equal(403);
      const other = await call("POST", path, body, { authorization: `Bearer ${w.keyB}` });
      expect(other.status).to.equal(403);
      expect(other.body.error.code).to.equal("FORBIDDEN");
    }
    expect(moneyState(w)).to.deep.equal(state);
  });

  it("verify says valid without moving anything; settle captures once; a second settle and verify say token_already_redeemed", async () => {
    const { payload, requirements, paymentId } = await payment();
    const body = { x402Version: 2, paymentPayload: payload, paymentRequirements: requirements };
    const auth = { authorization: `Bearer ${w.keyA}` };
    const state = moneyState(w);
    expect((await call("POST", "/x402/verify", body, auth)).body).to.deep.equal({ isValid: true, payer: w.agentId });
    expect(moneyState(w)).to.deep.equal(state);
    const s1 = await call("POST", "/x402/settle", body, auth);
    expect(s1.body).to.deep.equal({ success: true, transaction: paymentId, network: "agentpay:agentpay", payer: w.agentId, amount: "25" });
    const s2 = await call("POST", "/x402/settle", body, auth);
    expect(s2.status).to.equal(200);
    expect(s2.body).to.deep.include({ success: false, errorReason: "token_already_redeemed", transaction: "" });
    expect((await call("POST", "/x402/verify", body, auth)).body).to.deep.include({ isValid: false, invalidReason: "token_already_redeemed" });
    expect(captures(w.pay, w.merchantA).map((p) => p.id)).to.deep.equal([paymentId]);
  });

  it("a settle retried with the same Idempotency-Key gets the first answer; 50 concurrent settles of one token: one success", async () => {
    const auth = { authorization: `Bearer ${w.keyA}` };
    const a = await payment();
    const body = { x402Version: 2, paymentPayload: a.payload, paymentRequirements: a.requirements };
    const first = await call("POST", "/x402/settle", body, { ...auth, "idempotency-key": "settle-1" });
    const retry = await call("POST", "/x402/settle", body, { ...auth, "idempotency-key": "settle-1" });
    expect(retry.body).to.deep.equal(first.body);
    expect(first.body.success).to.equal(true);

    const b = await payment();
    const many = await Promise.all(Array.from({ length: 50 }, () => call("POST", "/x402/settle", { x402Version: 2, paymentPayload: b.payload, paymentRequirements: b.requirements }, auth)));
    expect(many.filter((r) => r.body.success === true)).to.have.length(1);
    expect(many.filter((r) => r.body.errorReason === "token_already_redeemed")).to.have.length(49);
    expect(w.pay.payments.get(b.paymentId).capturedMinor).to.equal(25n);
    expect(w.pay.ledger.check().ok).to.equal(true);
  });

  it("refuses, with a reason and nothing moved: another reference, a price above the token, another scheme or network, a forged token", async () => {
    const auth = { authorization: `Bearer ${w.keyA}` };
    const { payload, requirements } = await payment();
    const state = moneyState(w);
    const settle = (p: PaymentPayload, r: PaymentRequirements) => call("POST", "/x402/settle", { x402Version: 2, paymentPayload: p, paymentRequirements: r }, auth);
    const other = { ...requirements, extra: { ...requirements.extra, reference: "x402 GET /other #xyz" } };
    expect((await settle({ ...payload, accepted: other }, other)).body.errorReason).to.equal("reference_mismatch");
    const dearer = { ...requirements, amount: "26" };
    expect((await settle({ ...payload, accepted: dearer }, dearer)).body.errorReason).to.equal("amount_mismatch");
    const euro = { ...requirements, asset: "EUR" };
    expect((await settle({ ...payload, accepted: euro }, euro)).body.errorReason).to.equal("amount_mismatch");
    expect((await settle(payload, { ...requirements, amount: "20" })).body.errorReason).to.equal("invalid_payment_requirements");
    const exact = { ...requirements, scheme: "exact" };
    expect((await settle({ ...payload, accepted: exact }, exact)).body.errorReason).to.equal("unsupported_scheme");
    const chain = { ...requirements, network: "eip155:8453" as const };
    expect((await settle({ ...payload, accepted: chain }, chain)).body.errorReason).to.equal("invalid_network");
    const token = (payload.payload as { token: string }).token;
    const forged = { ...payload, payload: { token: `${token.slice(0, -4)}AAAA` } };
    expect((await settle(forged, requirements)).body.errorReason).to.equal("token_signature_invalid");
    expect((await settle({ ...payload, payload: { token, extra: 1 } }, requirements)).body.errorReason).to.equal("invalid_payload");
    expect(moneyState(w)).to.deep.equal(state);
    // Malformed requests are 400 in agentpay's error shape.
    for (const bad of [{}, { x402Version: 1, paymentPayload: payload, paymentRequirements: requirements }, { x402Version: 2, paymentPayload: payload }, "nope"]) {
      const r = await call("POST", "/x402/settle", bad, auth);
      expect(r.status, JSON.stringify(bad).slice(0, 80)).to.equal(400);
    }
    expect((await settle(payload, requirements)).body.success).to.equal(true);
  });
});

for (const framework of FRAMEWORKS) {
  describe(`x402 middleware (${framework}) settling through an agentpay server (merchant API key)`, function () {
    this.timeout(60_000);
    let w: X402World;
    let server: RunningServer;
    beforeEach(async () => {
      w = await x402World();
      server = await serve(w.pay, { port: 0, rateLimit: false });
    });
    afterEach(async () => { await server.close(); });

    it("402 → pay → 200; serve once under 100 concurrent retries; refused on another route or merchant", async () => {
      const shop = await startShop(framework, w.merchantA, { server: { url: server.url, apiKey: w.keyA } });
      const shopB = await startShop(framework, w.merchantB, { server: { url: server.url, apiKey: w.keyB } });
      try {
        const r402 = await fetch(`${shop.url}/weather`);
        expect(r402.status).to.equal(402);
        expect(decodePaymentRequired(r402.headers.get(PAYMENT_REQUIRED_HEADER)).accepts[0]!.network).to.equal("agentpay:agentpay");
        const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
        const { response, receipt } = await paid(`${shop.url}/weather?city=kyiv`);
        expect(response.status).to.equal(200);
        expect(w.pay.payments.get(receipt!.paymentId).status).to.equal("captured");

        // One payment, 100 concurrent requests carrying it.
        const probe = await fetch(`${shop.url}/news`);
        await probe.arrayBuffer();
        const offer = decodePaymentRequired(probe.headers.get(PAYMENT_REQUIRED_HEADER)).accepts[0]!;
        const res = await w.client.requestPayment({ subWalletId: w.subWalletId, merchantId: w.merchantA, amount: usd("0.25"), reference: offer.extra.reference as string });
        if (res.status !== "approved") throw new Error(res.status);
        const header = encodeHeader({ x402Version: 2, accepted: offer, payload: { token: res.token } });
        const all = await Promise.all(Array.from({ length: 100 }, () => fetch(`${shop.url}/news`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } })
          .then(async (r) => ({ status: r.status, body: await r.text() }))));
        expect(all.map((r) => r.status)).to.deep.equal(Array(100).fill(200));
        expect(new Set(all.map((r) => r.body)).size).to.equal(1);
        expect(shop.hits.news).to.equal(1);
        expect(w.pay.payments.get(res.paymentId).capturedMinor).to.equal(25n);

        // The same header on another route, and on merchant B's: refused, nothing moves.
        const state = moneyState(w);
        const elsewhere = await fetch(`${shop.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
        expect(elsewhere.status).to.equal(402);
        const bOffer = decodePaymentRequired((await fetch(`${shopB.url}/news`)).headers.get(PAYMENT_REQUIRED_HEADER)).accepts[0]!;
        const atB = await fetch(`${shopB.url}/news`, { headers: { [PAYMENT_SIGNATURE_HEADER]: encodeHeader({ x402Version: 2, accepted: bOffer, payload: { token: res.token } }) } });
        expect(atB.status).to.equal(402);
        expect(decodePaymentResponse(atB.headers.get(PAYMENT_RESPONSE_HEADER)).errorReason).to.equal("token_audience_mismatch");
        expect(moneyState(w)).to.deep.equal(state);
        expect(shopB.hits.news).to.equal(0);
      } finally {
        await shop.close();
        await shopB.close();
      }
    });

    it("a failed handler is refunded through the server; an unreachable server is a 502 and nothing is served", async () => {
      const shop = await startShop(framework, w.merchantA, { server: { url: server.url, apiKey: w.keyA } });
      const dead = await startShop(framework, w.merchantA, { server: { url: "http://127.0.0.1:9", apiKey: w.keyA } });
      try {
        const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
        const { response, receipt } = await paid(`${shop.url}/boom`);
        expect(response.status).to.equal(500);
        for (let i = 0; i < 100 && !shop.events.some((e) => e.kind === "refunded"); i++) await new Promise((r) => setTimeout(r, 20));
        expect(w.pay.payments.get(receipt!.paymentId).refundedMinor).to.equal(50n);
        const r = await fetch(`${dead.url}/weather`);
        expect(r.status).to.equal(502);
        expect(((await r.json()) as { error: { code: string } }).error.code).to.equal("X402_FACILITATOR_UNAVAILABLE");
        expect(dead.hits.weather).to.equal(0);
      } finally {
        await shop.close();
        await dead.close();
      }
    });
  });
}
