// Conformance with x402 as @x402/core (the reference implementation, a dev dependency) has it: its types
// and ours are interchangeable (this file compiles), its own parsing accepts our 402s, PAYMENT-RESPONSEs
// and facilitator answers, its client pays our middleware with our client scheme, and its resource
// server settles through agentpay as its facilitator with our server scheme.
import { expect } from "chai";
import { x402Client, x402HTTPClient } from "@x402/core/client";
import { HTTPFacilitatorClient, decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { parsePaymentPayload, parsePaymentRequired } from "@x402/core/schemas";
import { x402ResourceServer } from "@x402/core/server";
import type * as X from "@x402/core/types";
import { serve } from "../../src/http/index.ts";
import type { RunningServer } from "../../src/http/index.ts";
import {
  PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, decodePaymentSignature, fetchWithPayment, tokenSchemeClient, tokenSchemeServer,
} from "../../src/x402/index.ts";
import type * as O from "../../src/x402/index.ts";
import { captures, startShop, usd, x402World } from "./helpers.ts";
import type { Shop, X402World } from "./helpers.ts";

// ------------------------------------------------------------ the types, both ways (checked by tsc)
function both<A, B>(toTheirs: (a: A) => B, toOurs: (b: B) => A): void {
  void toTheirs;
  void toOurs;
}
both<O.PaymentRequirements, X.PaymentRequirements>((a) => a, (b) => b);
both<O.PaymentRequired, X.PaymentRequired>((a) => a, (b) => b);
both<O.PaymentPayload, X.PaymentPayload>((a) => a, (b) => b);
both<O.ResourceInfo, X.ResourceInfo>((a) => a, (b) => b);
both<O.VerifyRequest, X.VerifyRequest>((a) => a, (b) => b);
both<O.VerifyResponse, X.VerifyResponse>((a) => a, (b) => b);
both<O.SettleRequest, X.SettleRequest>((a) => a, (b) => b);
both<O.SettleResponse, X.SettleResponse>((a) => a, (b) => b);
both<O.SupportedKind, X.SupportedKind>((a) => a, (b) => b);
both<O.SupportedResponse, X.SupportedResponse>((a) => a, (b) => b);
both<O.Network, X.Network>((a) => a, (b) => b);
both<O.AssetAmount, X.AssetAmount>((a) => a, (b) => b);
// Our schemes are theirs: a server scheme for x402ResourceServer, a client scheme for x402Client.
const asServer = (s: ReturnType<typeof tokenSchemeServer>): X.SchemeNetworkServer => s;
const asClient = (c: ReturnType<typeof tokenSchemeClient>): X.SchemeNetworkClient => c;
void asServer;
void asClient;

/** A stock x402Client paying agentpay's ledger rail with our client scheme (x402's own spend controls let USD through; agentpay's grant does the budgeting). */
function stockClient(w: X402World, max: string) {
  return new x402Client().register("agentpay:*", tokenSchemeClient(w.client, { subWalletId: w.subWalletId, maxAmount: usd(max) }))
    .setSpendControls({ allowedAssets: [{ network: "agentpay:agentpay", asset: "USD" }] });
}

describe("x402 conformance with @x402/core", function () {
  this.timeout(60_000);
  let w: X402World;
  let server: RunningServer;
  let shop: Shop;
  beforeEach(async () => {
    w = await x402World();
    server = await serve(w.pay, { port: 0, rateLimit: false });
    shop = await startShop("hono", w.merchantA, { agentpay: w.pay });
  });
  afterEach(async () => {
    await shop.close();
    await server.close();
  });

  it("its parsing accepts our 402: the header decodes, its V2 schema validates it, its HTTP client reads it as payment_required", async () => {
    const r = await fetch(`${shop.url}/weather?city=paris`);
    expect(r.status).to.equal(402);
    const header = r.headers.get(PAYMENT_REQUIRED_HEADER)!;
    const theirs = decodePaymentRequiredHeader(header);
    const parsed = parsePaymentRequired(theirs);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).to.equal(true);
    expect(theirs.x402Version).to.equal(2);
    const http = new x402HTTPClient(new x402Client());
    expect(http.getPaymentRequiredResponse((h) => r.headers.get(h))).to.deep.equal(theirs);
    const result = await http.processResponse(r);
    expect(result.status).to.equal(402);
    expect(result.paymentStatus).to.equal("payment_required");
  });

  it("its parsing accepts our paid response (settled) and our refusal (settle_failed)", async () => {
    const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
    const { response, receipt } = await paid(`${shop.url}/weather`);
    const http = new x402HTTPClient(new x402Client());
    const settle = decodePaymentResponseHeader(response.headers.get(PAYMENT_RESPONSE_HEADER)!);
    expect(settle).to.deep.equal(receipt!.settle);
    const result = await http.processResponse(response);
    expect(result.paymentStatus).to.equal("settled");
    // The same PAYMENT-SIGNATURE on another route: refused with PAYMENT-RESPONSE success false.
    const first = await fetch(`${shop.url}/news`);
    await first.arrayBuffer();
    const refusedRes = await fetch(`${shop.url}/news`, { headers: { [PAYMENT_SIGNATURE_HEADER]: "" + Buffer.from(JSON.stringify({ x402Version: 2, accepted: decodePaymentRequiredHeader(first.headers.get(PAYMENT_REQUIRED_HEADER)!).accepts[0], payload: { token: "x".repeat(40) } })).toString("base64") } });
    const refusal = await http.processResponse(refusedRes);
    expect(refusal.status).to.equal(402);
    expect(refusal.paymentStatus).to.equal("settle_failed");
  });

  it("its x402Client, with our client scheme, pays our middleware; our decoder reads its PAYMENT-SIGNATURE", async () => {
    const http = new x402HTTPClient(stockClient(w, "1.00"));
    const r = await fetch(`${shop.url}/weather?city=bern`);
    await r.arrayBuffer();
    const required = http.getPaymentRequiredResponse((h) => r.headers.get(h));
    const payload = await http.createPaymentPayload(required);
    expect(parsePaymentPayload(payload).success).to.equal(true);
    const headers = http.encodePaymentSignatureHeader(payload);
    expect(decodePaymentSignature(headers[PAYMENT_SIGNATURE_HEADER])).to.deep.equal(JSON.parse(JSON.stringify(payload)));
    const paid = await fetch(`${shop.url}/weather?city=bern`, { headers });
    expect(paid.status).to.equal(200);
    expect((await http.processResponse(paid)).paymentStatus).to.equal("settled");
    expect(captures(w.pay, w.merchantA)).to.have.length(1);
    // Above maxAmount its client gets our refusal and pays nothing.
    const cheap = new x402HTTPClient(stockClient(w, "0.10"));
    let refused: unknown;
    await cheap.createPaymentPayload(required).catch((e: unknown) => { refused = e; });
    expect((refused as { code?: string }).code).to.equal("X402_NO_PAYABLE_OFFER");
    expect(w.pay.payments.list({ agentId: w.agentId })).to.have.length(1);
  });

  it("its HTTPFacilitatorClient, pointed at agentpay's /x402, parses supported, verify and settle", async () => {
    const fc = new HTTPFacilitatorClient({
      url: `${server.url}/x402`,
      createAuthHeaders: async () => {
        const h = { Authorization: `Bearer ${w.keyA}` };
        return { verify: h, settle: h, supported: {} };
      },
    });
    const supported = await fc.getSupported();
    expect(supported.kinds).to.deep.equal([{ x402Version: 2, scheme: "agentpay-token", network: "agentpay:agentpay", extra: { issuer: "agentpay" } }]);
    const r = await fetch(`${shop.url}/weather`);
    await r.arrayBuffer();
    const required = decodePaymentRequiredHeader(r.headers.get(PAYMENT_REQUIRED_HEADER)!);
    const payload = await new x402HTTPClient(stockClient(w, "1.00")).createPaymentPayload(required);
    const offer = required.accepts[0]!;
    expect(await fc.verify(payload, offer)).to.deep.equal({ isValid: true, payer: w.agentId });
    const settled = await fc.settle(payload, offer);
    expect(settled).to.include({ success: true, network: "agentpay:agentpay", payer: w.agentId, amount: "25" });
    expect(w.pay.payments.get(settled.transaction).status).to.equal("captured");
    const again = await fc.settle(payload, offer);
    expect(again).to.include({ success: false, errorReason: "token_already_redeemed", transaction: "" });
    expect((await fc.verify(payload, offer)).invalidReason).to.equal("token_already_redeemed");
  });

  it("its x402ResourceServer, with our server scheme and agentpay as facilitator, builds offers, verifies and settles once", async () => {
    const fc = new HTTPFacilitatorClient({
      url: `${server.url}/x402`,
      createAuthHeaders: async () => ({ verify: { Authorization: `Bearer ${w.keyA}` }, settle: { Authorization: `Bearer ${w.keyA}` }, supported: {} }),
    });
    const rs = new x402ResourceServer(fc).register("agentpay:agentpay", tokenSchemeServer());
    await rs.initialize();
    const requirements = await rs.buildPaymentRequirements({ scheme: "agentpay-token", payTo: w.merchantA, price: "0.25 USD", network: "agentpay:agentpay", extra: { reference: "stock route /quote" } });
    expect(requirements).to.have.length(1);
    expect(requirements[0]).to.deep.include({ scheme: "agentpay-token", network: "agentpay:agentpay", amount: "25", asset: "USD", payTo: w.merchantA });
    expect(requirements[0]!.extra).to.deep.include({ issuer: "agentpay", merchantId: w.merchantA, currency: "USD", reference: "stock route /quote" });
    const required = await rs.createPaymentRequiredResponse(requirements, { url: "https://shop.example/quote", description: "a quote" });
    expect(parsePaymentRequired(required).success).to.equal(true);
    const payload = await stockClient(w, "1.00").createPaymentPayload(required);
    const accepted = payload.accepted;
    expect((await rs.verifyPayment(payload, accepted)).isValid).to.equal(true);
    const settled = await rs.settlePayment(payload, accepted);
    expect(settled.success).to.equal(true);
    expect(w.pay.payments.get(settled.transaction)).to.deep.include({ status: "captured", capturedMinor: 25n, reference: "stock route /quote" });
    let second: unknown;
    try {
      const s2 = await rs.settlePayment(payload, accepted);
      second = s2;
    } catch (e) {
      second = e;
    }
    expect((second as { errorReason?: string }).errorReason).to.equal("token_already_redeemed");
    expect(captures(w.pay, w.merchantA)).to.have.length(1);
    // Prices as floats are refused: money is never a float.
    let floatRefused: unknown;
    await rs.buildPaymentRequirements({ scheme: "agentpay-token", payTo: w.merchantA, price: 0.25, network: "agentpay:agentpay" }).catch((e: unknown) => { floatRefused = e; });
    expect((floatRefused as { code?: string }).code).to.equal("INVALID_AMOUNT");
  });

  it("our PAYMENT-SIGNATURE is the one its encoder writes", async () => {
    const r = await fetch(`${shop.url}/weather`);
    await r.arrayBuffer();
    const required = decodePaymentRequiredHeader(r.headers.get(PAYMENT_REQUIRED_HEADER)!);
    const res = await w.client.requestPayment({ subWalletId: w.subWalletId, merchantId: w.merchantA, amount: usd("0.25"), reference: required.accepts[0]!.extra.reference as string });
    if (res.status !== "approved") throw new Error("not approved");
    const payload: O.PaymentPayload = { x402Version: 2, resource: required.resource, accepted: required.accepts[0]!, payload: { token: res.token } };
    const { encodePaymentSignature } = await import("../../src/x402/index.ts");
    expect(encodePaymentSignature(payload)).to.equal(encodePaymentSignatureHeader(payload));
    expect((await fetch(`${shop.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: encodePaymentSignatureHeader(payload) } })).status).to.equal(200);
  });
});
