import { expect } from "chai";
import { RiskEngine, type RuleSet } from "../../src/risk/index.ts";
import { simulate, type SimPayment } from "../../src/risk/sim/index.ts";
import { DAY, HOUR, MIN, T0, intent, rec } from "./helpers.ts";

/** No rules at all: only the breaker can stop anything. */
const noRules: RuleSet = { version: "breaker-only", thresholds: { review: 1, decline: 2 }, rules: [] };
const noAttacks = { runaway_loop: 0, scope_drift: 0, amount_spike: 0, payee_swap: 0, slow_drain: 0, card_testing: 0, mass_compromise: 0 };

/**
 * Feeds payments through score + record; the person approves everything. Returns the first breaker
 * decision (only the global breaker's with `globalOnly`: a person's own large payment may trip theirs).
 */
function feed(engine: RiskEngine, payments: readonly SimPayment[], globalOnly = false) {
  let first: { atMs: number; code: string; index: number } | undefined;
  payments.forEach((p, index) => {
    const d = engine.score(p.intent);
    const hit = d.reasons.find((r) => r.ruleId === "drain-breaker" && (!globalOnly || r.code.startsWith("DRAIN_BREAKER")));
    if (hit && !first) first = { atMs: p.intent.atMs, code: hit.code, index };
    engine.record({ ...p.intent, kind: d.outcome === "allow" || p.label === "legit" ? "authorized" : "declined" });
  });
  return first;
}

describe("risk drain circuit breaker", () => {
  it("does not trip on normal traffic with its daily peaks", () => {
    const sim = simulate({ seed: 21, agents: 2000, warmupDays: 3, days: 3, attacks: noAttacks });
    const e = new RiskEngine({ rules: noRules });
    const first = feed(e, sim.payments);
    expect(first?.code ?? "none").to.not.match(/^DRAIN_BREAKER/);
    expect(e.breakerStatus().global).to.deep.equal([]);
  });

  it("trips on many wallets compromised at once, and holds new payments until reset", () => {
    const sim = simulate({ seed: 22, agents: 2000, warmupDays: 3, days: 3, attacks: { ...noAttacks, mass_compromise: 1 }, massCompromiseShare: 0.05 });
    const e = new RiskEngine({ rules: noRules });
    const attacks = sim.payments.filter((p) => p.label === "mass_compromise");
    expect(attacks.length).to.be.greaterThan(50);
    const first = feed(e, sim.payments, true);
    expect(first).to.not.equal(undefined);
    expect(first!.code).to.match(/^DRAIN_BREAKER_(TRIP|OPEN)$/);
    expect(first!.atMs).to.be.at.least(attacks[0]!.intent.atMs);
    expect(first!.atMs).to.be.at.most(attacks[0]!.intent.atMs + 30 * MIN);
    const status = e.breakerStatus();
    expect(status.global.map((g) => g.key)).to.deep.equal(["USD"]);
    // while open, every new authorization goes to review, routine or not
    const later = sim.payments[sim.payments.length - 1]!.intent;
    const d = e.score({ ...later, atMs: later.atMs + 1 });
    expect(d.outcome).to.equal("review");
    expect(d.reasons[0]!.code).to.equal("DRAIN_BREAKER_OPEN");
    e.resetBreaker();
    expect(e.breakerStatus().global).to.deep.equal([]);
    expect(e.score({ ...later, atMs: later.atMs + 2 }).reasons.some((r) => r.ruleId === "drain-breaker")).to.equal(false);
  });

  it("trips per person when one person's outflow jumps far above their usual, and resets per person", () => {
    const e = new RiskEngine({ rules: noRules, breaker: { ownerMultiplier: 8, ownerMinMinor: 100_000 } });
    // a week of ~100.00 a day for alice and bob
    for (let d = 0; d < 7; d++) {
      for (const o of ["alice", "bob"]) rec(e, intent({ ownerId: o, agentId: `agt_${o}`, subWalletId: `sub_${o}`, amountMinor: 10_000n, atMs: T0 + d * DAY + 12 * HOUR }));
    }
    const t = T0 + 7 * DAY + 9 * HOUR;
    // alice's wallets suddenly spend 3 x 350.00 in an hour: more than 8 x her daily 100.00
    let last;
    for (let i = 0; i < 3; i++) {
      const it = intent({ ownerId: "alice", agentId: `agt_alice${i}`, subWalletId: `sub_alice${i}`, amountMinor: 35_000n, atMs: t + i * 5 * MIN });
      last = e.score(it);
      rec(e, it);
    }
    expect(last!.outcome).to.equal("review");
    expect(last!.reasons[0]!.code).to.equal("OWNER_DRAIN_TRIP");
    expect(e.breakerStatus().owners.map((o) => o.key)).to.deep.equal(["alice"]);
    expect(e.score(intent({ ownerId: "alice", amountMinor: 100n, atMs: t + HOUR })).reasons[0]!.code).to.equal("OWNER_DRAIN_OPEN");
    expect(e.score(intent({ ownerId: "bob", agentId: "agt_bob", subWalletId: "sub_bob", amountMinor: 10_000n, atMs: t + HOUR })).outcome).to.equal("allow");
    e.resetBreaker("bob");
    expect(e.breakerStatus().owners).to.have.length(1);
    e.resetBreaker("alice");
    expect(e.breakerStatus().owners).to.deep.equal([]);
    expect(e.score(intent({ ownerId: "alice", amountMinor: 100n, atMs: t + HOUR })).outcome).to.equal("allow");
  });

  it("can decline instead of review while open, and its state survives export/import", () => {
    const e = new RiskEngine({ rules: noRules, breaker: { action: "decline", ownerMinMinor: 50_000 } });
    rec(e, intent({ amountMinor: 60_000n }));
    expect(e.score(intent({ amountMinor: 100n, atMs: T0 + MIN })).outcome).to.equal("decline");
    const b = new RiskEngine({ rules: noRules, breaker: { action: "decline", ownerMinMinor: 50_000 } });
    b.importState(JSON.parse(JSON.stringify(e.exportState())));
    expect(b.breakerStatus()).to.deep.equal(e.breakerStatus());
    expect(b.score(intent({ amountMinor: 100n, atMs: T0 + MIN })).outcome).to.equal("decline");
  });

  it("refuses an unknown breaker action", () => {
    expect(() => new RiskEngine({ breaker: { action: "panic" as never } })).to.throw(/review or decline/);
  });
});
