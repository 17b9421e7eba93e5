import { expect } from "chai";
import { inspect } from "node:util";
import { rejectsWith } from "../ledger/helpers.ts";
import { AgentPay } from "../../src/index.ts";
import { usd, world } from "../payments/helpers.ts";

describe("merchants", () => {
  it("registers with a generated callback secret shown once, never in getters or errors", async () => {
    const w = await world();
    const { merchant, callbackSecret } = await w.pay.merchants.register({ name: "Shop & Co.", category: "5734", callbackUrl: "https://shop.example/cb" });
    expect(callbackSecret.length).to.be.greaterThanOrEqual(32);
    const got = w.pay.merchants.get(merchant.id);
    expect(JSON.stringify(got) + inspect(got)).to.not.contain(callbackSecret);
    expect(got).to.include({ name: "Shop & Co.", category: "5734", settlement: "ledger", status: "active" });
  });

  it("validates input and changes nothing on bad input", async () => {
    const w = await world();
    const records = w.pay.engine.stats.records;
    const bad: Array<[string, unknown]> = [
      ["INVALID_INPUT", { name: "", category: "5734" }],
      ["INVALID_INPUT", { name: "X", category: "57" }],
      ["INVALID_INPUT", { name: "X", category: "5734", callbackUrl: "ftp://x" }],
      ["INVALID_INPUT", { name: "X", category: "5734", callbackUrl: "http://user:pw@host/" }],
      ["INVALID_INPUT", { name: "X", category: "5734", settlement: "chain" }],
      ["INVALID_INPUT", { name: "X", category: "5734", settlement: "chain", chainAddress: "0x1234" }],
      ["INVALID_INPUT", { name: "X", category: "5734", chainAddress: "0x" + "11".repeat(20) }],
      ["INVALID_INPUT", { name: "X", category: "5734", callbackSecret: "short" }],
      // 1,018 characters as written, 6,018 once percent-encoded: measured as stored.
      ["INVALID_INPUT", { name: "X", category: "5734", callbackUrl: `https://m.example/${"é".repeat(1000)}` }],
      ["UNKNOWN_CURRENCY", { name: "X", category: "5734", currencies: ["ZZZ"] }],
      ["INVALID_INPUT", null],
    ];
    for (const [code, input] of bad) await rejectsWith(w.pay.merchants.register(input as never), code);
    expect(w.pay.engine.stats.records).to.equal(records);
  });

  it("refuses callback URLs on private, loopback or link-local hosts unless agentpay was opened allowing them", async () => {
    const w = await world();
    const records = w.pay.engine.stats.records;
    const privateUrls = [
      "http://127.0.0.1:8787/agentpay", "http://localhost:8787/cb", "http://LOCALHOST./cb", "http://shop.localhost/cb",
      "http://10.0.0.7/cb", "http://192.168.1.20/cb", "http://169.254.169.254/latest/meta-data/", "http://[::1]/cb",
      "http://[::ffff:127.0.0.1]/cb", "http://[fd00::1]/cb", "http://0.0.0.0/cb", "http://100.64.1.1/cb",
    ];
    for (const callbackUrl of privateUrls) {
      const err = await rejectsWith(w.pay.merchants.register({ name: "X", category: "5734", callbackUrl }), "INVALID_INPUT");
      expect(err.details).to.deep.equal({ field: "callbackUrl" });
    }
    expect(w.pay.engine.stats.records).to.equal(records);
    // A name is accepted as written; what it resolves to is checked at every delivery.
    await w.pay.merchants.register({ name: "X", category: "5734", callbackUrl: "https://hooks.shop.example/cb" });

    const dev = await AgentPay.open({ memory: true, delivery: { allowPrivateNetworks: true }, background: false });
    for (const callbackUrl of privateUrls) {
      const { merchant } = await dev.merchants.register({ name: "X", category: "5734", callbackUrl });
      expect(merchant.callbackUrl).to.be.a("string");
    }
    await dev.close();

    const internal = await AgentPay.open({ memory: true, delivery: { allowedNetworks: ["10.0.0.0/8"] }, background: false });
    await internal.merchants.register({ name: "X", category: "5734", callbackUrl: "http://10.0.0.7/cb" });
    await rejectsWith(internal.merchants.register({ name: "X", category: "5734", callbackUrl: "http://127.0.0.1/cb" }), "INVALID_INPUT");
    await internal.close();

    await rejectsWith(AgentPay.open({ memory: true, delivery: { allowPrivateNetworks: "yes" as never } }), "INVALID_INPUT");
  });

  it("a disabled merchant gets no new payments and cannot redeem", async () => {
    const w = await world();
    const air = w.air.merchant.id;
    const r = await w.client.requestPayment({ subWalletId: w.travel.id, merchantId: air, amount: usd("10.00") });
    if (r.status !== "approved") throw new Error("expected approval");
    await w.pay.merchants.setStatus(air, "disabled");
    await rejectsWith(w.client.requestPayment({ subWalletId: w.travel.id, merchantId: air, amount: usd("10.00") }), "MERCHANT_DISABLED");
    await rejectsWith(w.pay.payments.redeem({ token: r.token, merchantId: air, amount: usd("10.00"), idempotencyKey: "k" }), "MERCHANT_DISABLED");
    await w.pay.merchants.setStatus(air, "active");
    await w.pay.payments.redeem({ token: r.token, merchantId: air, amount: usd("10.00"), idempotencyKey: "k" });
    expect(w.pay.merchants.balanceMinor(air, "USD")).to.equal(1000n);
  });
});
