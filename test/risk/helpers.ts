import type { RiskEngine, RiskEventKind, RiskIntent } from "../../src/risk/index.ts";

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
