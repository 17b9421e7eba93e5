import { expect } from "chai";
import { compileRuleSet, defaultRuleSet } from "../../src/risk/index.ts";
import type { RiskDecision, RiskEngine, RiskEventKind, RiskIntent } from "../../src/risk/index.ts";
import { FEATURE_COUNT, FEATURE_INDEX } from "../../src/risk/features.ts";

export const T0 = Date.UTC(2026, 2, 2, 0, 0, 0);
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function intent(over: Partial<RiskIntent> = {}): RiskIntent {
  return {
    agentId: "agt_a", subWalletId: "sub_a", ownerId: "own_a", merchantId: "mch_shop", category: "5411",
    amountMinor: 5_000n, currency: "USD", atMs: T0, ...over,
  };
}

/** Commits `n` ordinary payments for the agent, one every `gapMs`, cycling through merchants; returns the next free time. */
export function history(engine: RiskEngine, n: number, over: Partial<RiskIntent> = {}, gapMs = 6 * HOUR, start = T0): number {
  let t = start;
  for (let i = 0; i < n; i++) {
    const amount = 4_000n + BigInt((i * 37) % 2_000);
    engine.record({ ...intent({ merchantId: `mch_shop${i % 3}`, amountMinor: amount, atMs: t, ...over }), kind: "authorized" });
    t += gapMs;
  }
  return t;
}

export function rec(engine: RiskEngine, it: RiskIntent, kind: RiskEventKind = "authorized"): void {
  engine.record({ ...it, kind });
}

/** Other agents paying a merchant, so it is not unknown. */
export function popular(engine: RiskEngine, merchantId: string, category: string, atMs: number, agents = 5): void {
  for (let i = 0; i < agents; i++) {
    rec(engine, intent({ agentId: `agt_pop${i}`, subWalletId: `sub_pop${i}`, ownerId: `own_pop${i}`, merchantId, category, atMs }));
  }
}

export const codes = (d: RiskDecision) => d.reasons.map((r) => r.code);

/** One default rule's condition, evaluated on a hand-made feature vector (every feature 0 unless given). */
export function fires(id: string, features: Record<string, number>, it: RiskIntent = intent()): boolean {
  const rule = defaultRuleSet.rules.find((r) => r.id === id);
  if (rule === undefined) throw new Error(`no rule ${id}`);
  const c = compileRuleSet({ version: "one", thresholds: { review: 1, decline: 2 }, rules: [{ ...rule, enabled: true }] });
  const fv = new Float64Array(FEATURE_COUNT);
  for (const [k, v] of Object.entries(features)) {
    const i = FEATURE_INDEX.get(k);
    if (i === undefined) throw new Error(`no feature ${k}`);
    fv[i] = v;
  }
  return [...c.hard, ...c.scored][0]!.test(fv, it);
}

/** Flips one feature at a time across its threshold: `base` fires, each variant does not. */
export function edges(id: string, base: Record<string, number>, misses: Array<Record<string, number>>): void {
  expect(fires(id, base), `${id} base`).to.equal(true);
  for (const m of misses) expect(fires(id, { ...base, ...m }), `${id} ${JSON.stringify(m)}`).to.equal(false);
}
