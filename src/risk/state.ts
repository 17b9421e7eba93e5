import { AgentPayError } from "../core/index.ts";
import { Breaker, GlobalFlow, OwnerFlow, type BreakerOptions, type BreakerTrip } from "./breaker.ts";
import { AGENT_R24H_CHANNELS, AgentState, CategoryStat, FeatureStore, MerchantState, PopStat, SubWalletState, type FeatureLimits } from "./features.ts";
import type { RuleSet } from "./rules.ts";
import { Ring } from "./window.ts";

export const RISK_STATE_FORMAT = "agentpay.risk-state.v2";

/** The engine's learnt state as plain JSON: numbers, strings, arrays. Safe for JSON.stringify. */
export interface RiskState {
  format: typeof RISK_STATE_FORMAT;
  rules: RuleSet;
  agents: Array<[string, unknown]>;
  subWallets: Array<[string, unknown]>;
  merchants: Array<[string, unknown]>;
  /** Population amount priors per currency and category / group: [n, meanLog, varLog]. */
  categories: Array<[string, [number, number, number]]>;
  /** Agents per category, and per pair of categories: [category, agents, [[other, agents with both], ...]]. */
  categoryPairs: Array<[string, number, Array<[string, number]>]>;
  owners: Array<[string, unknown]>;
  globals: Array<[string, unknown]>;
  /** Last attempt time per sub-wallet (the global breaker counts each sub-wallet once per window). */
  lastAttempts: Array<[string, number]>;
}

const MIN = 60_000, HOUR = 3_600_000;

export function exportEngineState(store: FeatureStore, breaker: Breaker, rules: RuleSet): RiskState {
  const agents: Array<[string, unknown]> = [];
  for (const [k, a] of store.agents.map) {
    const recent: Array<[string, number, number]> = [];
    for (let i = 0; i < a.recentAt.length; i++) recent.push([a.recentMerchant[i]!, a.recentAmount[i]!, a.recentAt[i]!]);
    agents.push([k, {
      r1m: a.r1m.toJSON(), r1h: a.r1h.toJSON(), r24h: a.r24h.toJSON(),
      n: a.n, firstMs: a.firstMs, meanLog: a.meanLog, varLog: a.varLog, maxAmount: a.maxAmount,
      dayIdx: a.dayIdx, dayAcc: a.dayAcc, dailyEwma: a.dailyEwma, days: a.days,
      merchants: [...a.merchants.map],
      categories: [...a.categories.map].map(([c, x]) => [c, x.firstMs, x.lastMs, x.n, x.meanLog, x.varLog, x.max]),
      groups: [...a.groups], hours: Array.from(a.hours),
      recent, recentIdx: a.recentIdx, repeatShare: a.repeatShare,
      declines: a.declCategory.map((c, i) => [c, a.declAt[i]!]), declIdx: a.declIdx,
    }]);
  }
  const subWallets: Array<[string, unknown]> = [];
  for (const [k, s] of store.subWallets.map) subWallets.push([k, { r1m: s.r1m.toJSON(), r1h: s.r1h.toJSON(), r24h: s.r24h.toJSON() }]);
  const merchants: Array<[string, unknown]> = [];
  for (const [k, m] of store.merchants.map) {
    merchants.push([k, { firstMs: m.firstMs, agents: m.agents === null ? null : [...m.agents], agentCount: m.agentCount,
      r1h: m.r1h.toJSON(), r24h: m.r24h.toJSON() }]);
  }
  const categories: Array<[string, [number, number, number]]> = [];
  for (const [k, p] of store.pop.map) categories.push([k, [p.n, p.meanLog, p.varLog]]);
  const categoryPairs: Array<[string, number, Array<[string, number]>]> = [];
  for (const [c, n] of store.catAgents) categoryPairs.push([c, n, [...(store.catPairs.get(c) ?? new Map<string, number>())]]);
  const owners: Array<[string, unknown]> = [];
  for (const [k, o] of breaker.owners.map) {
    owners.push([k, { r1h: o.r1h.toJSON(), dayIdx: o.dayIdx, dayAcc: o.dayAcc, dailyEwma: o.dailyEwma, days: o.days, trip: o.trip }]);
  }
  const globals: Array<[string, unknown]> = [];
  for (const [k, g] of breaker.globals) {
    globals.push([k, { rW: g.rW.toJSON(), hourIdx: g.hourIdx, accSum: g.accSum, accCnt: g.accCnt,
      baseSum: Array.from(g.baseSum), baseCnt: Array.from(g.baseCnt), seen: Array.from(g.seen),
      hoursObserved: g.hoursObserved, firstHourPartial: g.firstHourPartial, trip: g.trip }]);
  }
  const lastAttempts: Array<[string, number]> = [...breaker.lastAttempt.map];
  return { format: RISK_STATE_FORMAT, rules: JSON.parse(JSON.stringify(rules)) as RuleSet, agents, subWallets, merchants, categories, categoryPairs, owners, globals, lastAttempts };
}

class Bad extends Error {}
const obj = (v: unknown): Record<string, unknown> => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Bad("expected an object");
  return v as Record<string, unknown>;
};
const num = (v: unknown): number => {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Bad("expected a finite number");
  return v;
};
const str = (v: unknown): string => {
  if (typeof v !== "string") throw new Bad("expected a string");
  return v;
};
const arr = (v: unknown, len?: number): unknown[] => {
  if (!Array.isArray(v) || (len !== undefined && v.length !== len)) throw new Bad("expected an array");
  return v;
};
const entries = (v: unknown): Array<[string, Record<string, unknown>]> =>
  arr(v).map((e) => {
    const [k, x] = arr(e, 2);
    return [str(k), obj(x)];
  });
const nums = (v: unknown, len: number): number[] => arr(v, len).map(num);
const trip = (v: unknown): BreakerTrip | null => {
  if (v === null || v === undefined) return null;
  const t = obj(v);
  const scope = t.scope === "global" ? "global" : t.scope === "owner" ? "owner" : (() => { throw new Bad("bad trip"); })();
  return { scope, key: str(t.key), trippedAtMs: num(t.trippedAtMs), ratio: num(t.ratio), reason: str(t.reason) };
};

export function importEngineState(
  input: unknown, limits: Partial<FeatureLimits>, breakerOpts: Partial<BreakerOptions>,
): { store: FeatureStore; breaker: Breaker; rules: unknown } {
  try {
    const s = obj(input);
    if (s.format !== RISK_STATE_FORMAT) throw new Bad(`format must be ${RISK_STATE_FORMAT}`);
    const store = new FeatureStore(limits);
    for (const [k, a] of entries(s.agents)) {
      const st = new AgentState(store.limits.maxMerchantsPerAgent, store.limits.maxCategoriesPerAgent);
      st.r1m = Ring.from(a.r1m, 10_000, 6, 3);
      st.r1h = Ring.from(a.r1h, 5 * MIN, 12, 5);
      st.r24h = Ring.from(a.r24h, HOUR, 24, AGENT_R24H_CHANNELS);
      st.n = num(a.n); st.firstMs = num(a.firstMs); st.meanLog = num(a.meanLog); st.varLog = num(a.varLog);
      st.maxAmount = num(a.maxAmount); st.dayIdx = num(a.dayIdx); st.dayAcc = num(a.dayAcc);
      st.dailyEwma = num(a.dailyEwma); st.days = num(a.days);
      for (const e of arr(a.merchants)) { const [m, t] = arr(e, 2); st.merchants.set(str(m), num(t)); }
      for (const e of arr(a.categories)) {
        const [c, firstMs, lastMs, n, meanLog, varLog, max] = arr(e, 7);
        const cs = new CategoryStat();
        cs.firstMs = num(firstMs);
        cs.lastMs = num(lastMs); cs.n = num(n); cs.meanLog = num(meanLog); cs.varLog = num(varLog); cs.max = num(max);
        st.categories.set(str(c), cs);
      }
      for (const g of arr(a.groups)) st.groups.add(str(g));
      st.hours.set(nums(a.hours, 24));
      const recent = arr(a.recent, st.recentAt.length);
      recent.forEach((e, i) => {
        const [m, amt, at] = arr(e, 3);
        st.recentMerchant[i] = str(m); st.recentAmount[i] = num(amt); st.recentAt[i] = num(at);
      });
      st.recentIdx = num(a.recentIdx) % st.recentAt.length;
      // absent in states exported before default-2026.5: no evidence of fixed price points yet
      st.repeatShare = a.repeatShare === undefined ? 0 : num(a.repeatShare);
      arr(a.declines, st.declAt.length).forEach((e, i) => {
        const [c, at] = arr(e, 2);
        st.declCategory[i] = str(c); st.declAt[i] = num(at);
      });
      st.declIdx = num(a.declIdx) % st.declAt.length;
      store.agents.set(k, st);
    }
    for (const [k, w] of entries(s.subWallets)) {
      const st = new SubWalletState();
      st.r1m = Ring.from(w.r1m, 10_000, 6, 2);
      st.r1h = Ring.from(w.r1h, 5 * MIN, 12, 2);
      st.r24h = Ring.from(w.r24h, HOUR, 24, 2);
      store.subWallets.set(k, st);
    }
    for (const [k, m] of entries(s.merchants)) {
      const st = new MerchantState();
      st.firstMs = num(m.firstMs);
      st.agents = m.agents === null ? null : new Set(arr(m.agents).map(str));
      st.agentCount = num(m.agentCount);
      st.r1h = Ring.from(m.r1h, 5 * MIN, 12, 1);
      st.r24h = Ring.from(m.r24h, HOUR, 24, 1);
      store.merchants.set(k, st);
    }
    for (const e of arr(s.categories)) {
      const [k, v] = arr(e, 2);
      const [n, meanLog, varLog] = nums(v, 3);
      const p = new PopStat();
      p.n = n!; p.meanLog = meanLog!; p.varLog = varLog!;
      store.pop.set(str(k), p);
    }
    for (const e of arr(s.categoryPairs)) {
      const [c, n, pairs] = arr(e, 3);
      store.catAgents.set(str(c), num(n));
      const m = new Map<string, number>();
      for (const pe of arr(pairs)) {
        const [k, v] = arr(pe, 2);
        m.set(str(k), num(v));
      }
      if (m.size > 0) store.catPairs.set(str(c), m);
      store.catPairCount += m.size;
    }
    const breaker = new Breaker(breakerOpts);
    for (const [k, o] of entries(s.owners)) {
      const st = new OwnerFlow();
      st.r1h = Ring.from(o.r1h, 5 * MIN, 12, 1);
      st.dayIdx = num(o.dayIdx); st.dayAcc = num(o.dayAcc); st.dailyEwma = num(o.dailyEwma); st.days = num(o.days);
      st.trip = trip(o.trip);
      breaker.owners.set(k, st);
    }
    for (const [k, g] of entries(s.globals)) {
      const st = new GlobalFlow(breaker.opts.globalWindowMinutes);
      st.rW = Ring.from(g.rW, MIN, breaker.opts.globalWindowMinutes, 2);
      st.hourIdx = num(g.hourIdx); st.accSum = num(g.accSum); st.accCnt = num(g.accCnt);
      st.baseSum.set(nums(g.baseSum, 24)); st.baseCnt.set(nums(g.baseCnt, 24)); st.seen.set(nums(g.seen, 24));
      st.hoursObserved = num(g.hoursObserved); st.firstHourPartial = g.firstHourPartial === true;
      st.trip = trip(g.trip);
      breaker.globals.set(k, st);
    }
    for (const e of arr(s.lastAttempts)) {
      const [k, t] = arr(e, 2);
      breaker.lastAttempt.set(str(k), num(t));
    }
    return { store, breaker, rules: s.rules };
  } catch (e) {
    if (e instanceof Bad || e instanceof TypeError) {
      throw new AgentPayError("RISK_STATE_INVALID", `invalid risk state: ${e.message}`, {});
    }
    throw e;
  }
}
