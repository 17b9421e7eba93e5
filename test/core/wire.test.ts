import { expect } from "chai";
import { AgentPay, AgentPayError, CurrencyRegistry, amount, toWire } from "../../src/index.ts";

describe("wire form (toWire)", () => {
  it("amounts become decimal strings with their currency; *Minor fields pair with the record's currency; *AtMs become RFC 3339", () => {
    const w = toWire({
      id: "pay_1", currency: "USD", amountMinor: 12050n, capturedMinor: 0n, createdAtMs: 0, ttlMs: 5000,
      cap: amount("1.5", "EUR"), nested: [{ big: 2n ** 70n }], missing: undefined,
    });
    expect(w).to.deep.equal({
      id: "pay_1", currency: "USD", amount: { value: "120.50", currency: "USD" }, captured: { value: "0.00", currency: "USD" },
      createdAt: "1970-01-01T00:00:00.000Z", ttlMs: 5000, cap: { value: "1.50", currency: "EUR" },
      nested: [{ big: "1180591620717411303424" }],
    });
    expect(() => JSON.stringify(w)).to.not.throw();
  });

  it("uses the currency's decimals (JPY 0, an asset's own), and names minor units when the decimals are unknown", () => {
    expect(toWire(amount(1200n, "JPY"))).to.deep.equal({ value: "1200", currency: "JPY" });
    const reg = new CurrencyRegistry();
    reg.registerAsset("USDC", 6);
    expect(toWire({ currency: "USDC", amountMinor: 1_500_000n }, reg)).to.deep.equal({ currency: "USDC", amount: { value: "1.500000", currency: "USDC" } });
    expect(toWire({ currency: "USDC", amountMinor: 1_500_000n })).to.deep.equal({ currency: "USDC", amount: { minor: "1500000", currency: "USDC" } });
  });

  it("errors carry their code, message and details with bigints as strings; a cycle deeper than the limit is refused", () => {
    const e = new AgentPayError("INSUFFICIENT_FUNDS", "no", { amountMinor: 5n });
    expect(toWire(e)).to.deep.equal({ code: "INSUFFICIENT_FUNDS", message: "no", details: { amountMinor: "5" } });
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => toWire(loop)).to.throw(AgentPayError).with.property("code", "INVALID_INPUT");
  });

  it("every result of the README's flow survives JSON.stringify through pay.toWire", async () => {
    const pay = await AgentPay.open({ memory: true });
    const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
    const dep = await pay.wallets.deposit(wallet.id, amount("50.00", "USD"), { idempotencyKey: "d" });
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "s", budget: amount("20.00", "USD") });
    for (const r of [wallet, dep, sw, pay.wallets.balance(sw.id), pay.wallets.statement(sw.id), pay.wallets.budget(sw.id)]) {
      const text = JSON.stringify(pay.toWire(r));
      expect(text).to.not.match(/Minor"/);
    }
    expect((pay.toWire(pay.wallets.balance(sw.id)) as Record<string, unknown>).available).to.deep.equal({ value: "20.00", currency: "USD" });
    await pay.close();
  });
});
