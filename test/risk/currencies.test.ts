import { expect } from "chai";
import { CurrencyRegistry } from "../../src/core/index.ts";
import { RiskEngine } from "../../src/risk/index.ts";
import type { RiskIntent } from "../../src/risk/index.ts";

const base: RiskIntent = {
  agentId: "agt_a", subWalletId: "sw_a", ownerId: "alice", merchantId: "mer_a", category: "5734",
  amountMinor: 0n, currency: "USD", atMs: Date.UTC(2026, 5, 1, 12),
};

describe("risk engine: currencies", () => {
  it("scores amounts on one scale whatever the currency's decimals", () => {
    const currencies = new CurrencyRegistry();
    currencies.registerAsset("USDC", 6);
    const engine = new RiskEngine({ currencies });
    const usd = engine.score({ ...base, amountMinor: 1_200n });                          // $12.00
    const usdc = engine.score({ ...base, currency: "USDC", amountMinor: 12_000_000n });  // 12 USDC
    const jpy = engine.score({ ...base, currency: "JPY", amountMinor: 12n });            // ¥12, scaled as 1200
    expect(usdc.reasons.map((r) => r.code)).to.deep.equal(usd.reasons.map((r) => r.code));
    expect(usdc.score).to.equal(usd.score);
    expect(jpy.score).to.equal(usd.score);
  });

  it("keeps a person's outflow per currency: 12 USDC does not look like $120,000", () => {
    const currencies = new CurrencyRegistry();
    currencies.registerAsset("USDC", 6);
    const engine = new RiskEngine({ currencies });
    engine.record({ ...base, currency: "USDC", amountMinor: 12_000_000n, kind: "authorized" });
    const d = engine.score({ ...base, amountMinor: 1_500n, atMs: base.atMs + 60_000 });
    expect(d.reasons.map((r) => r.code)).to.not.include.members(["OWNER_DRAIN_TRIP", "OWNER_DRAIN_OPEN"]);
    expect(engine.breakerStatus().owners).to.deep.equal([]);
  });
});
