// HTTP 402 for a merchant that settles on-chain: the middleware offers the agentpay-voucher scheme on the
// chain's CAIP-2 network (eip155:<chainId>), checks voucher and token offline, and redeems the voucher with
// the settlement contract (the merchant's wallet) before the route runs; the watcher then captures it in
// the ledger. On an in-process Hardhat chain.
import { expect } from "chai";
import { serve as honoServe } from "@hono/node-server";
import { Hono } from "hono";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import {
  PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, decodePaymentRequired, decodePaymentResponse, encodeHeader, fetchWithPayment,
  requirePayment, voucherPayload,
} from "../../src/x402/index.ts";
import type { PaymentPayload, RequirePaymentOptions } from "../../src/x402/index.ts";
import { bridgeWorld, expectLedgerOk, expectReconciled, lower, mine, usdc } from "./helpers/bridge.ts";
import type { BridgeWorld } from "./helpers/bridge.ts";

async function shop(w: BridgeWorld, extra: Partial<RequirePaymentOptions> = {}) {
  const hits = { a: 0, b: 0 };
  const opts = (name: "a" | "b") => requirePayment({
    price: usdc("0.50"), merchantId: w.shop.id, agentpay: w.pay, description: name,
    onchain: { chainId: w.chainId, settlement: w.settlement.address, token: w.token.address, merchantAddress: w.chain.merchant.account.address, settler: w.merchantClient },
    ...extra,
  });
  const app = new Hono();
  app.get("/a", opts("a"), (c) => c.json({ route: "a", n: ++hits.a }));
  app.get("/b", opts("b"), (c) => c.json({ route: "b", n: ++hits.b }));
  const server = await new Promise<Server>((resolve) => {
    const s = honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server)) as Server;
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe("x402 with on-chain settlement (agentpay-voucher on eip155)", function () {
  this.timeout(120_000);

  it("402 offers a voucher on the chain's CAIP-2 network; paid: redeemed on-chain before the route runs, then captured by the watcher", async () => {
    const w = await bridgeWorld();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 100_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    const s = await shop(w);
    try {
      await w.syncClock();
      const r402 = await fetch(`${s.url}/a`);
      expect(r402.status).to.equal(402);
      const offer = decodePaymentRequired(r402.headers.get(PAYMENT_REQUIRED_HEADER)).accepts[0]!;
      expect(offer).to.deep.include({
        scheme: "agentpay-voucher", network: `eip155:${w.chainId}`, amount: "500000", asset: lower(w.token.address), payTo: lower(w.chain.merchant.account.address),
      });
      expect(offer.extra).to.deep.include({ merchantId: w.shop.id, currency: "USDC", decimals: 6, settlement: lower(w.settlement.address), issuer: "agentpay" });

      const paid = fetchWithPayment(fetch, w.client, { subWalletId: w.sub.id, maxAmount: usdc("1.00") });
      const { response, receipt } = await paid(`${s.url}/a`);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ route: "a", n: 1 });
      const settle = receipt!.settle!;
      expect(settle).to.deep.include({ success: true, network: `eip155:${w.chainId}`, amount: "500000" });
      expect(settle.transaction).to.match(/^0x[0-9a-f]{64}$/);
      const tx = await w.chain.publicClient.getTransactionReceipt({ hash: settle.transaction as `0x${string}` });
      expect(tx.status).to.equal("success");
      expect(lower(tx.from)).to.equal(lower(w.chain.merchant.account.address));
      await mine(w);
      await w.watcher.catchUp();
      expect(w.pay.payments.get(receipt!.paymentId)).to.deep.include({ status: "captured", capturedMinor: 500_000n });
      expectLedgerOk(w.pay);
      await expectReconciled(w);
    } finally {
      await s.close();
    }
  });

  it("refuses, offline and on-chain, with nothing moved: another route, a tampered voucher, a repeat after use", async () => {
    const w = await bridgeWorld();
    await w.ownerClient.deposit(w.token.address, w.agentAddress, 100_000_000n);
    await mine(w);
    await w.watcher.catchUp();
    const s = await shop(w, { replayWindowMs: 0 });
    try {
      await w.syncClock();
      const r402 = await fetch(`${s.url}/a`);
      await r402.arrayBuffer();
      const required = decodePaymentRequired(r402.headers.get(PAYMENT_REQUIRED_HEADER));
      const offer = required.accepts[0]!;
      const r = await w.client.requestPayment({ subWalletId: w.sub.id, merchantId: w.shop.id, amount: usdc("0.50"), reference: offer.extra.reference as string });
      if (r.status !== "approved") throw new Error(r.status);
      const payload: PaymentPayload = { x402Version: 2, resource: required.resource, accepted: offer, payload: voucherPayload(r.token, r.voucher!) };
      const credit = async () => w.merchantClient.creditOf(w.chain.merchant.account.address, w.token.address);
      const before = await credit();

      // On route b, with b's offer: the voucher's ref commits to route a's reference.
      const bOffer = decodePaymentRequired((await fetch(`${s.url}/b`)).headers.get(PAYMENT_REQUIRED_HEADER)).accepts[0]!;
      const onB = await fetch(`${s.url}/b`, { headers: { [PAYMENT_SIGNATURE_HEADER]: encodeHeader({ ...payload, accepted: bOffer }) } });
      expect(onB.status).to.equal(402);
      expect(decodePaymentResponse(onB.headers.get(PAYMENT_RESPONSE_HEADER)).errorReason).to.equal("reference_mismatch");
      // A voucher with its cap raised no longer hashes to the digest its token names.
      const v = payload.payload as { voucher: Record<string, string> };
      const tampered = { ...payload, payload: { ...payload.payload, voucher: { ...v.voucher, cap: "900000000" } } };
      const t = await fetch(`${s.url}/a`, { headers: { [PAYMENT_SIGNATURE_HEADER]: encodeHeader(tampered) } });
      expect(decodePaymentResponse(t.headers.get(PAYMENT_RESPONSE_HEADER)).errorReason).to.equal("voucher_mismatch");
      expect(await credit()).to.equal(before);
      expect(s.hits).to.deep.equal({ a: 0, b: 0 });

      // Paid once; the same payment again is refused by the contract (its nonce is used).
      const ok = await fetch(`${s.url}/a`, { headers: { [PAYMENT_SIGNATURE_HEADER]: encodeHeader(payload) } });
      expect(ok.status).to.equal(200);
      expect(await credit()).to.equal(before + 500_000n);
      const again = await fetch(`${s.url}/a`, { headers: { [PAYMENT_SIGNATURE_HEADER]: encodeHeader(payload) } });
      expect(again.status).to.equal(402);
      expect(decodePaymentResponse(again.headers.get(PAYMENT_RESPONSE_HEADER)).errorReason).to.equal("token_already_redeemed");
      // A fresh middleware that never saw it (another process): the contract refuses the second redemption.
      const fresh = await shop(w, { replayWindowMs: 0 });
      try {
        const elsewhere = await fetch(`${fresh.url}/a`, { headers: { [PAYMENT_SIGNATURE_HEADER]: encodeHeader(payload) } });
        expect(elsewhere.status).to.equal(402);
        expect(decodePaymentResponse(elsewhere.headers.get(PAYMENT_RESPONSE_HEADER)).errorReason).to.equal("chain_nonce_used");
        expect(fresh.hits.a).to.equal(0);
      } finally {
        await fresh.close();
      }
      expect(await credit()).to.equal(before + 500_000n);
      expect(s.hits).to.deep.equal({ a: 1, b: 0 });
    } finally {
      await s.close();
    }
  });
});
