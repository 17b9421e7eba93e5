// The merchant's middleware on real sockets, in Hono, Express and plain node:http, settling in-process:
// 402 → pay → 200, serve once (replays, concurrency), binding to the route and the merchant, refused and
// malformed payments (nothing moves), refunds of failed responses.
import { expect } from "chai";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { ManualClock, isAgentPayError } from "../../src/index.ts";
import {
  PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, decodePaymentRequired, decodePaymentResponse, encodeHeader,
  encodePaymentSignature, fetchWithPayment, requestReference,
} from "../../src/x402/index.ts";
import type { PaymentPayload, PaymentRequired } from "../../src/x402/index.ts";
import { FRAMEWORKS, ROUTES, captures, moneyState, startShop, usd, x402World } from "./helpers.ts";
import type { Shop, X402World } from "./helpers.ts";

/** The status of a GET sent with node:http (fetch refuses to send some of what an attacker would). */
function rawStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

async function refused<T>(p: Promise<T>, code: string): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    if (isAgentPayError(e) && e.code === code) return e.details as Record<string, unknown>;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

/** An agent pays for `path` by hand (as fetchWithPayment does) and returns the PAYMENT-SIGNATURE it would send. */
async function paidHeader(w: X402World, shop: Shop, path: string, opts: { method?: string } = {}): Promise<{ header: string; required: PaymentRequired; paymentId: string }> {
  const r = await fetch(`${shop.url}${path}`, { method: opts.method ?? "GET" });
  expect(r.status).to.equal(402);
  await r.arrayBuffer();
  const required = decodePaymentRequired(r.headers.get(PAYMENT_REQUIRED_HEADER));
  const offer = required.accepts[0]!;
  const res = await w.client.requestPayment({
    subWalletId: w.subWalletId, merchantId: offer.payTo, amount: { minor: BigInt(offer.amount), currency: offer.asset }, reference: offer.extra.reference as string,
  });
  if (res.status !== "approved") throw new Error(`not approved: ${res.status}`);
  const payload: PaymentPayload = { x402Version: 2, resource: required.resource, accepted: offer, payload: { token: res.token } };
  return { header: encodePaymentSignature(payload), required, paymentId: res.paymentId };
}

for (const framework of FRAMEWORKS) {
  describe(`x402 middleware (${framework}, settling in-process)`, function () {
    this.timeout(60_000);
    let w: X402World;
    let shop: Shop;
    let shopB: Shop;
    beforeEach(async () => {
      w = await x402World();
      shop = await startShop(framework, w.merchantA, { agentpay: w.pay });
      shopB = await startShop(framework, w.merchantB, { agentpay: w.pay });
    });
    afterEach(async () => {
      await shop.close();
      await shopB.close();
      await w.close();
    });

    it("answers 402 with x402 v2's PAYMENT-REQUIRED offering a Token Pay token on agentpay's ledger rail", async () => {
      const r = await fetch(`${shop.url}/weather?city=paris`);
      expect(r.status).to.equal(402);
      expect(r.headers.get("cache-control")).to.equal("no-store");
      const pr = decodePaymentRequired(r.headers.get(PAYMENT_REQUIRED_HEADER));
      expect(await r.json()).to.deep.equal(JSON.parse(Buffer.from(r.headers.get(PAYMENT_REQUIRED_HEADER)!, "base64").toString()));
      expect(pr.x402Version).to.equal(2);
      expect(pr.error).to.equal("PAYMENT-SIGNATURE header is required");
      expect(pr.resource).to.deep.equal({ url: `${shop.url}/weather?city=paris`, description: "weather for agents", mimeType: "application/json" });
      expect(pr.accepts).to.deep.equal([{
        scheme: "agentpay-token", network: "agentpay:agentpay", amount: "25", asset: "USD", payTo: w.merchantA, maxTimeoutSeconds: 300,
        extra: { issuer: "agentpay", merchantId: w.merchantA, currency: "USD", decimals: 2, reference: requestReference("GET", "/weather?city=paris") },
      }]);
      expect(shop.hits.weather).to.equal(0);
    });

    it("402 → pay within the grant → 200 with PAYMENT-RESPONSE; the budget shrinks by the price, the merchant is paid", async () => {
      const before = w.pay.wallets.balance(w.subWalletId);
      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
      const { response, receipt } = await paid(`${shop.url}/weather?city=oslo`);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ route: "weather", n: 1, q: "oslo" });
      expect(receipt!.amount).to.deep.equal(usd("0.25"));
      expect(receipt!.merchantId).to.equal(w.merchantA);
      expect(receipt!.settle).to.deep.equal({ success: true, transaction: receipt!.paymentId, network: "agentpay:agentpay", payer: w.agentId, amount: "25" });
      const p = w.pay.payments.get(receipt!.paymentId);
      expect(p.status).to.equal("captured");
      expect(p.capturedMinor).to.equal(25n);
      expect(p.reference).to.equal(requestReference("GET", "/weather?city=oslo"));
      const after = w.pay.wallets.balance(w.subWalletId);
      expect(before.availableMinor - after.availableMinor).to.equal(25n);
      expect(w.pay.wallets.budget(w.subWalletId).daily.usedMinor).to.equal(25n);
      const payout = w.pay.merchants.get(w.merchantA).payoutAccounts.USD!;
      expect(w.pay.ledger.balance(payout).postedMinor).to.equal(25n);
      expect(shop.hits.weather).to.equal(1);
      expect(w.pay.ledger.check().ok).to.equal(true);
    });

    it("sends the request body again on the paid retry (POST)", async () => {
      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
      const { response } = await paid(`${shop.url}/echo`, { method: "POST", body: "hello, paid world", headers: { "content-type": "text/plain" } });
      expect(response.status).to.equal(200);
      expect(((await response.json()) as { echoed: string }).echoed).to.equal("hello, paid world");
    });

    it("sends the body again on the paid retry when the request is a Request, or its body a stream (copied before the first send)", async () => {
      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
      const asRequest = await paid(new Request(`${shop.url}/echo`, { method: "POST", body: "a Request's body", headers: { "content-type": "text/plain" } }));
      expect(asRequest.response.status).to.equal(200);
      expect(((await asRequest.response.json()) as { echoed: string }).echoed).to.equal("a Request's body");
      const stream = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(new TextEncoder().encode("a streamed body")); c.close(); } });
      const streamed = await paid(`${shop.url}/echo`, { method: "POST", body: stream, headers: { "content-type": "text/plain" }, duplex: "half" } as RequestInit);
      expect(streamed.response.status).to.equal(200);
      expect(((await streamed.response.json()) as { echoed: string }).echoed).to.equal("a streamed body");
      expect(asRequest.receipt!.paymentId).to.not.equal(streamed.receipt!.paymentId);
    });

    it("a repeat of a paid request (same PAYMENT-SIGNATURE) gets the same response again: no second run, no second capture", async () => {
      const { header, paymentId } = await paidHeader(w, shop, "/weather?city=rome");
      const first = await fetch(`${shop.url}/weather?city=rome`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
      const firstBody = await first.text();
      expect(first.status).to.equal(200);
      const again = await fetch(`${shop.url}/weather?city=rome`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
      expect(again.status).to.equal(200);
      expect(await again.text()).to.equal(firstBody);
      expect(again.headers.get("idempotent-replayed")).to.equal("true");
      expect(again.headers.get(PAYMENT_RESPONSE_HEADER)).to.equal(first.headers.get(PAYMENT_RESPONSE_HEADER));
      expect(shop.hits.weather).to.equal(1);
      expect(captures(w.pay, w.merchantA).map((p) => p.id)).to.deep.equal([paymentId]);
    });

    it("100 concurrent retries of one paid request: one capture, one run of the handler, 100 identical responses", async () => {
      const { header, paymentId } = await paidHeader(w, shop, "/weather?city=lima");
      const all = await Promise.all(Array.from({ length: 100 }, () => fetch(`${shop.url}/weather?city=lima`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } })
        .then(async (r) => ({ status: r.status, body: await r.text() }))));
      expect(all.map((r) => r.status)).to.deep.equal(Array(100).fill(200));
      expect(new Set(all.map((r) => r.body)).size).to.equal(1);
      expect(JSON.parse(all[0]!.body)).to.deep.equal({ route: "weather", n: 1, q: "lima" });
      expect(shop.hits.weather).to.equal(1);
      expect(captures(w.pay, w.merchantA).map((p) => p.id)).to.deep.equal([paymentId]);
      expect(w.pay.payments.get(paymentId).capturedMinor).to.equal(25n);
    });

    it("a replay after use is refused (past the replay window, or with replay off), and nothing moves", async () => {
      const clock = new ManualClock(Date.now());
      const strict = await startShop(framework, w.merchantA, { agentpay: w.pay }, { clock, replayWindowMs: 60_000 });
      const off = await startShop(framework, w.merchantA, { agentpay: w.pay }, { replayWindowMs: 0 });
      try {
        const a = await paidHeader(w, strict, "/weather");
        expect((await fetch(`${strict.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: a.header } })).status).to.equal(200);
        clock.advance(60_000);
        const state = moneyState(w);
        const late = await fetch(`${strict.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: a.header } });
        expect(late.status).to.equal(402);
        expect(decodePaymentResponse(late.headers.get(PAYMENT_RESPONSE_HEADER))).to.include({ success: false, errorReason: "token_already_redeemed", transaction: "" });
        expect(strict.hits.weather).to.equal(1);
        // Another process (a fresh gate) that never saw it: the issuer refuses the second capture.
        const elsewhere = await fetch(`${shop.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: a.header } });
        expect(elsewhere.status).to.equal(402);
        expect(decodePaymentResponse(elsewhere.headers.get(PAYMENT_RESPONSE_HEADER)).errorReason).to.equal("token_already_redeemed");
        expect(shop.hits.weather).to.equal(0);
        expect(moneyState(w)).to.deep.equal(state);

        const b = await paidHeader(w, off, "/weather");
        expect((await fetch(`${off.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: b.header } })).status).to.equal(200);
        const state2 = moneyState(w);
        const again = await fetch(`${off.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: b.header } });
        expect(again.status).to.equal(402);
        expect(off.hits.weather).to.equal(1);
        expect(moneyState(w)).to.deep.equal(state2);
      } finally {
        await strict.close();
        await off.close();
      }
    });

    it("with replay off, 100 concurrent retries of one paid request: one 200, 99 refusals, one capture", async () => {
      const off = await startShop(framework, w.merchantA, { agentpay: w.pay }, { replayWindowMs: 0 });
      try {
        const { header, paymentId } = await paidHeader(w, off, "/weather");
        const all = await Promise.all(Array.from({ length: 100 }, () => fetch(`${off.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } })
          .then(async (r) => { await r.arrayBuffer(); return r.status; })));
        expect(all.filter((s) => s === 200)).to.have.length(1);
        expect(all.filter((s) => s === 402)).to.have.length(99);
        expect(off.hits.weather).to.equal(1);
        expect(captures(w.pay, w.merchantA).map((p) => p.id)).to.deep.equal([paymentId]);
      } finally {
        await off.close();
      }
    });

    it("a PAYMENT-SIGNATURE replayed on another route is refused, even with its offer rewritten; the payment still buys its own route", async () => {
      const { header, required } = await paidHeader(w, shop, "/weather");
      const state = moneyState(w);
      // As sent: it accepted /weather's offer, which /news does not make.
      const r1 = await fetch(`${shop.url}/news`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
      expect(r1.status).to.equal(402);
      expect(decodePaymentRequired(r1.headers.get(PAYMENT_REQUIRED_HEADER)).error).to.match(/none of this route's offers/);
      // Rewritten to /news's offer (the payload is not signed; the token is): the payment's reference says /weather.
      const newsOffer = decodePaymentRequired((await fetch(`${shop.url}/news`)).headers.get(PAYMENT_REQUIRED_HEADER)).accepts[0]!;
      const payload = JSON.parse(Buffer.from(header, "base64").toString()) as PaymentPayload;
      const forged = encodeHeader({ ...payload, accepted: newsOffer });
      const r2 = await fetch(`${shop.url}/news`, { headers: { [PAYMENT_SIGNATURE_HEADER]: forged } });
      expect(r2.status).to.equal(402);
      expect(decodePaymentResponse(r2.headers.get(PAYMENT_RESPONSE_HEADER)).errorReason).to.equal("reference_mismatch");
      expect(shop.hits.news).to.equal(0);
      expect(moneyState(w)).to.deep.equal(state);
      // The same URL with another query is another request too.
      const r3 = await fetch(`${shop.url}/weather?city=elsewhere`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
      expect(r3.status).to.equal(402);
      const ok = await fetch(`${shop.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
      expect(ok.status).to.equal(200);
      void required;
    });

    it("a token for merchant A on merchant B's route is refused, as sent and rewritten; nothing moves", async () => {
      const { header } = await paidHeader(w, shop, "/weather");
      const state = moneyState(w);
      const r1 = await fetch(`${shopB.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
      expect(r1.status).to.equal(402);
      const bOffer = decodePaymentRequired((await fetch(`${shopB.url}/weather`)).headers.get(PAYMENT_REQUIRED_HEADER)).accepts[0]!;
      const payload = JSON.parse(Buffer.from(header, "base64").toString()) as PaymentPayload;
      const r2 = await fetch(`${shopB.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: encodeHeader({ ...payload, accepted: bOffer }) } });
      expect(r2.status).to.equal(402);
      expect(decodePaymentResponse(r2.headers.get(PAYMENT_RESPONSE_HEADER)).errorReason).to.equal("token_audience_mismatch");
      expect(shopB.hits.weather).to.equal(0);
      expect(moneyState(w)).to.deep.equal(state);
    });

    it("an offer above maxAmount is not paid: nothing is asked of agentpay", async () => {
      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("0.24") });
      const state = moneyState(w);
      const d = await refused(paid(`${shop.url}/weather`), "X402_NO_PAYABLE_OFFER");
      expect(d.offers).to.deep.equal([{ scheme: "agentpay-token", network: "agentpay:agentpay", amount: "25", asset: "USD" }]);
      expect(moneyState(w)).to.deep.equal(state);
      expect(w.pay.payments.list({ agentId: w.agentId })).to.deep.equal([]);
      // Nor in another currency.
      await refused(fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: { minor: 10_000n, currency: "EUR" } })(`${shop.url}/weather`), "X402_NO_PAYABLE_OFFER");
      expect(shop.hits.weather).to.equal(0);
    });

    it("tampered headers, garbage base64, non-JSON, wrong shapes and huge headers get a 4xx and move nothing", async () => {
      const { header } = await paidHeader(w, shop, "/weather");
      const state = moneyState(w);
      const payload = JSON.parse(Buffer.from(header, "base64").toString()) as PaymentPayload;
      const token = (payload.payload as { token: string }).token;
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
      const cases: Array<[string, string, number]> = [
        ["garbage base64", "not base64!!", 400],
        ["base64 of non-JSON", Buffer.from("hello").toString("base64"), 400],
        ["base64 of a JSON array", encodeHeader([1, 2]), 400],
        ["base64 of invalid UTF-8", Buffer.from([0xff, 0xfe, 0xfd]).toString("base64"), 400],
        ["x402 version 1", encodeHeader({ ...payload, x402Version: 1 }), 400],
        ["no accepted", encodeHeader({ x402Version: 2, payload: payload.payload }), 400],
        ["amount lowered", encodeHeader({ ...payload, accepted: { ...payload.accepted, amount: "1" } }), 402],
        ["payTo changed", encodeHeader({ ...payload, accepted: { ...payload.accepted, payTo: w.merchantB } }), 402],
        ["token signature tampered", encodeHeader({ ...payload, payload: { token: flip(token, token.length - 5) } }), 402],
        ["token claims tampered", encodeHeader({ ...payload, payload: { token: flip(token, token.indexOf(".") + 10) } }), 402],
        ["no token", encodeHeader({ ...payload, payload: {} }), 402],
        ["a token that is not a string", encodeHeader({ ...payload, payload: { token: 42 } }), 402],
        ["a 12 KB header", "A".repeat(12 * 1024), 400],
      ];
      for (const [what, value, status] of cases) {
        const r = await fetch(`${shop.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: value } });
        const text = await r.text();
        expect(r.status, `${what}: ${text.slice(0, 200)}`).to.equal(status);
        expect(r.headers.get(PAYMENT_REQUIRED_HEADER), what).to.be.a("string");
        if (status === 400) expect(JSON.parse(text).error.code, what).to.equal("X402_HEADER_INVALID");
      }
      // Far over node's header limit: the HTTP parser refuses it before any code runs.
      expect(await rawStatus(`${shop.url}/weather`, { [PAYMENT_SIGNATURE_HEADER]: "A".repeat(64 * 1024) })).to.equal(431);
      expect(shop.hits.weather).to.equal(0);
      expect(moneyState(w)).to.deep.equal(state);
      // The genuine header still works afterwards.
      expect((await fetch(`${shop.url}/weather`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } })).status).to.equal(200);
    });

    it("a handler that fails after the capture: the payment is refunded in full and PAYMENT-RESPONSE says so", async () => {
      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
      const { response, receipt } = await paid(`${shop.url}/boom`);
      expect(response.status).to.equal(500);
      expect(receipt!.settle).to.include({ success: false, errorReason: "resource_failed", transaction: receipt!.paymentId });
      for (let i = 0; i < 100 && !shop.events.some((e) => e.kind === "refunded"); i++) await new Promise((r) => setTimeout(r, 20));
      expect(shop.events.filter((e) => e.kind === "refunded")).to.have.length(1);
      const p = w.pay.payments.get(receipt!.paymentId);
      expect(p.refundedMinor).to.equal(50n);
      expect(shop.hits.boom).to.equal(1);
      expect(w.pay.ledger.check().ok).to.equal(true);
    });

    it("a response larger than maxReplayBytes is served, not kept: a repeat is refused", async () => {
      const { header } = await paidHeader(w, shop, "/big");
      const r = await fetch(`${shop.url}/big`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
      expect((await r.text()).length).to.equal(2 * 1024 * 1024);
      for (let i = 0; i < 50; i++) {
        const again = await fetch(`${shop.url}/big`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
        await again.arrayBuffer();
        if (again.status === 402) break;
        expect(again.status, "only while the first response is still being read").to.equal(200);
      }
      const last = await fetch(`${shop.url}/big`, { headers: { [PAYMENT_SIGNATURE_HEADER]: header } });
      expect(last.status).to.equal(402);
      expect(shop.hits.big).to.equal(1);
    });

    it("a payment that needs the person's approval waits for it, then pays", async () => {
      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("5.00"), approvalTimeoutMs: 20_000 });
      const pending = paid(`${shop.url}/premium`);
      let approvalId: string | undefined;
      for (let i = 0; i < 200 && !approvalId; i++) {
        await new Promise((r) => setTimeout(r, 10));
        approvalId = w.pay.approvals.listPending({ ownerId: "alice" })[0]?.id;
      }
      expect(approvalId).to.be.a("string");
      expect(shop.hits.premium).to.equal(0);
      await w.pay.approvals.approve(approvalId!);
      const { response, receipt } = await pending;
      expect(response.status).to.equal(200);
      expect(receipt!.approvalId).to.equal(approvalId);
      expect(w.pay.payments.get(receipt!.paymentId).status).to.equal("captured");
    });

    it("an approval the person denies, or that does not come in time, pays nothing", async () => {
      const slow = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("5.00"), approvalTimeoutMs: 300 });
      const d = await refused(slow(`${shop.url}/premium`), "X402_APPROVAL_TIMEOUT");
      expect(w.pay.payments.get(d.paymentId as string).status).to.equal("pending_approval");
      const denied = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("5.00"), approvalTimeoutMs: 20_000 });
      const p = refused(denied(`${shop.url}/premium`), "X402_PAYMENT_DENIED");
      let approvalId: string | undefined;
      for (let i = 0; i < 200 && !approvalId; i++) {
        await new Promise((r) => setTimeout(r, 10));
        approvalId = w.pay.approvals.listPending({ ownerId: "alice" }).find((a) => a.subject.id !== d.paymentId)?.id;
      }
      await w.pay.approvals.deny(approvalId!);
      await p;
      expect(shop.hits.premium).to.equal(0);
      expect(captures(w.pay, w.merchantA)).to.deep.equal([]);
    });
  });
}

describe("x402 middleware: the policy decides", function () {
  this.timeout(60_000);
  it("a payment over the daily limit is declined with its reasons; the route never runs", async () => {
    const w = await x402World({ policy: { daily: "0.50", approvalAbove: "2.00" } });
    const shop = await startShop("hono", w.merchantA, { agentpay: w.pay });
    try {
      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
      expect((await paid(`${shop.url}/weather`)).response.status).to.equal(200);
      expect((await paid(`${shop.url}/weather`)).response.status).to.equal(200);
      const d = await refused(paid(`${shop.url}/weather`), "PAYMENT_DECLINED");
      expect((d.reasons as Array<{ code: string }>).map((r) => r.code)).to.include("POLICY_DAILY_BUDGET_EXCEEDED");
      expect(shop.hits.weather).to.equal(2);
    } finally {
      await shop.close();
      await w.close();
    }
  });

  it("a 402 whose promised body never arrives does not hold the agent: it pays and retries within about a second", async function () {
    this.timeout(30_000);
    const w = await x402World();
    const shop = await startShop("node", w.merchantA, { agentpay: w.pay });
    // In front of the shop: its 402 headers with a Content-Length whose body is never sent; paid retries pass through.
    const held: Array<() => void> = [];
    const front = createServer((req, res) => {
      const upstream = request(`${shop.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        if (up.statusCode === 402) {
          const { "transfer-encoding": _te, ...headers } = up.headers;
          res.writeHead(402, { ...headers, "content-length": "100" });
          res.write("{");
          held.push(() => res.destroy());
          up.resume();
          return;
        }
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}/weather?city=lima`;
      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.subWalletId, maxAmount: usd("1.00") });
      const { response, receipt } = await paid(url);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ route: "weather", n: 1, q: "lima" });
      expect(w.pay.payments.get(receipt!.paymentId).status).to.equal("captured");
      expect(held.length).to.equal(1);
    } finally {
      for (const h of held) h();
      front.closeAllConnections();
      await new Promise((r) => front.close(r));
      await shop.close();
      await w.close();
    }
  });

  it("options are checked when the middleware is made", async () => {
    const w = await x402World();
    try {
      const { requirePayment } = await import("../../src/x402/index.ts");
      const bad = (o: Record<string, unknown>, code: string) => {
        try {
          requirePayment({ price: usd("0.25"), merchantId: w.merchantA, agentpay: w.pay, ...o } as never);
        } catch (e) {
          expect(isAgentPayError(e) && e.code, JSON.stringify(Object.keys(o))).to.equal(code);
          return;
        }
        throw new Error(`accepted ${JSON.stringify(Object.keys(o))}`);
      };
      bad({ merchantId: "nope" }, "INVALID_ID");
      bad({ price: { minor: -1n, currency: "USD" } }, "INVALID_AMOUNT");
      bad({ price: { minor: 1n, currency: "XXX" } }, "UNKNOWN_CURRENCY");
      bad({ server: { url: "http://x", apiKey: "abcdefghij" } }, "INVALID_INPUT");
      bad({ agentpay: undefined }, "INVALID_INPUT");
      bad({ replayWindowMs: -1 }, "INVALID_INPUT");
      bad({ onchain: { chainId: 1, settlement: "0x1", token: "0x2", merchantAddress: "0x3" } }, "INVALID_INPUT");
    } finally {
      await w.close();
    }
  });
});
