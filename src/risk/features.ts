import type { RiskEvent, RiskIntent } from "./types.ts";
import { LruMap, Ring } from "./window.ts";

/**
 * The numeric features rules can refer to, in the order of the feature vector. Every feature is a
 * float64 statistic (amounts in minor units). Features describe the state BEFORE the intent (what
 * was committed or attempted up to now) unless the description says "with this payment".
 */
export const NUMERIC_FEATURES = [
  ["intent.amountMinor", "the payment's amount in minor units"],
  ["intent.hourOfDay", "hour of day (UTC) of the intent, 0-23"],
  ["intent.nearLimitRatio", "amount / the smaller of the per-payment cap and approval threshold (0 if neither is given)"],
  ["grant.ageMs", "time since the grant was made (-1 if unknown)"],
  ["agent.txCount", "committed payments by this agent (in this currency)"],
  ["agent.ageMs", "time since the agent's first committed payment (-1 if none)"],
  ["agent.count1m", "committed payments in the last minute"],
  ["agent.count1h", "committed payments in the last hour"],
  ["agent.count24h", "committed payments in the last 24 hours"],
  ["agent.amount1m", "committed amount in the last minute"],
  ["agent.amount1h", "committed amount in the last hour"],
  ["agent.amount24h", "committed amount in the last 24 hours"],
  ["agent.attempts1m", "attempts (committed, declined or failed) in the last minute"],
  ["agent.attempts1h", "attempts in the last hour"],
  ["agent.declines1h", "declined attempts in the last hour"],
  ["agent.declines24h", "declined attempts in the last 24 hours"],
  ["agent.failures1h", "failed attempts in the last hour"],
  ["agent.failures24h", "failed attempts in the last 24 hours"],
  ["agent.amountZ", "z-score of log(amount) against the agent's history in this category (5+ payments there), else all its history (0 until 5 payments)"],
  ["agent.amountRatio", "amount / the agent's typical amount in this category, else overall (geometric mean; 1 until 5 payments)"],
  ["agent.maxRatio", "amount / the largest amount the agent has paid in this category, else overall (1 until 5 payments)"],
  ["agent.typicalAmount", "the agent's typical amount (geometric mean of its history)"],
  ["agent.merchantNew", "1 if the agent has never paid this merchant"],
  ["agent.categoryNew", "1 if the agent has never paid in this category"],
  ["agent.groupNew", "1 if the agent has never paid in this category's group (travel, groceries, dining, retail, digital, cash-like, ...)"],
  ["agent.categoryAgeMs", "time since the agent's first payment in this category (-1 if none)"],
  ["agent.categoryTxCount", "the agent's committed payments in this category"],
  ["agent.groupCount", "distinct category groups the agent has paid in"],
  ["agent.merchantCount", "distinct merchants the agent has paid (capped)"],
  ["agent.categoryCount", "distinct categories the agent has paid in (capped)"],
  ["agent.newMerchants24h", "merchants paid for the first time in the last 24 hours"],
  ["agent.sameMerchantAmount10m", "committed payments with the same merchant and amount in the last 10 minutes"],
  ["agent.sameMerchantAmount24h", "committed payments with the same merchant and amount in the last 24 hours (among the last 16)"],
  ["agent.sameMerchant10m", "committed payments to the same merchant in the last 10 minutes"],
  ["agent.hourShare", "share of the agent's payments made within an hour of this time of day (1 until 20 payments)"],
  ["agent.dailyRatio", "committed amount in the last 24 hours with this payment / the agent's typical daily outflow"],
  ["agent.refunds24h", "refunds and voids in the last 24 hours"],
  ["subWallet.count1m", "committed payments from the sub-wallet in the last minute"],
  ["subWallet.count1h", "committed payments from the sub-wallet in the last hour"],
  ["subWallet.count24h", "committed payments from the sub-wallet in the last 24 hours"],
  ["subWallet.amount1m", "committed amount from the sub-wallet in the last minute"],
  ["subWallet.amount1h", "committed amount from the sub-wallet in the last hour"],
  ["subWallet.amount24h", "committed amount from the sub-wallet in the last 24 hours"],
  ["merchant.agentCount", "distinct agents that have paid the merchant (capped at 32)"],
  ["merchant.ageMs", "time since the merchant's first committed payment from any agent (-1 if none)"],
  ["merchant.attempts1h", "attempts to pay the merchant from any agent in the last hour"],
  ["merchant.declines24h", "declined attempts to pay the merchant in the last 24 hours"],
  ["owner.amount1h", "the person's attempted outflow across all sub-wallets in the last hour"],
  ["owner.outflowRatio", "the person's hourly outflow with this payment / their drain threshold"],
  ["global.outflowRatio", "outflow across all wallets in the breaker window with this payment / the drain threshold"],
  ["category.typicalAmount", "typical amount (geometric mean) paid in this category across all agents; its group's if the category has under 30 payments (0 if neither has)"],
  ["category.sampleCount", "committed payments behind category.typicalAmount"],
  ["amount.popZ", "z-score of log(amount) against what all agents pay in this category (or its group); 0 without 30 payments there"],
  ["amount.popRatio", "amount / category.typicalAmount (1 without a population prior)"],
  ["amount.priorZ", "z-score of log(amount) against the agent's own history in this category shrunk toward the population prior (4 payments' weight): meaningful from the first payment; agent.amountZ if there is no prior"],
  ["amount.priorRatio", "amount / the typical amount behind amount.priorZ"],
  ["agent.categoryDeclines24h", "the agent's declined attempts in this category in the last 24 hours (among its last 8 declines)"],
  ["agent.groupDeclines24h", "the agent's declined attempts in this category's group in the last 24 hours (among its last 8 declines)"],
  ["agent.newCategoryAttempts24h", "attempts (any outcome) in the last 24 hours in categories the agent had never paid in"],
  ["category.amountSpread", "spread (standard deviation of log(amount), floored at 0.3) of what all agents pay in this category (or its group); 0 without 30 payments there"],
  ["agent.amountRepeats", "how many of the agent's last 16 committed payments (any merchant, any time) had exactly this amount"],
  ["agent.repeatShare", "share of the agent's committed payments whose exact amount it had paid among its 16 before (exponentially weighted; -1 until 5 payments): near 1 for agents that buy at fixed price points"],
  ["agent.categoryAffinity", "how well this category fits the agent's others: the smallest, over the agent's other categories k (paid by 30+ agents), of the share of agents paying in k that also pay in this category (-1 if none qualifies)"],
] as const;

export type NumericFeature = (typeof NUMERIC_FEATURES)[number][0];
export const STRING_FEATURES = ["intent.category", "intent.merchantId", "intent.currency"] as const;
export type StringFeature = (typeof STRING_FEATURES)[number];

export const FEATURE_INDEX: ReadonlyMap<string, number> = new Map(NUMERIC_FEATURES.map(([n], i) => [n, i]));
export const FEATURE_COUNT = NUMERIC_FEATURES.length;

const F = Object.fromEntries(NUMERIC_FEATURES.map(([n], i) => [n, i])) as Record<NumericFeature, number>;

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const RECENT = 16;
const MIN_HISTORY = 5;
/** Floor on the spread of log-amounts: fixed-price agents would otherwise flag a cent's change. */
const MIN_LOG_STD = 0.4;

// ring channels
const C_CNT = 0, C_SUM = 1, C_ATT = 2, C_DEC = 3, C_FAIL = 4, C_NEWM = 5, C_REF = 6, C_NEWC = 7;
export const AGENT_R24H_CHANNELS = 8;
const RECENT_DECLINES = 8;
/** A population prior needs this many payments in the category (or group) before it is used. */
const POP_MIN = 30;
/** Weight, in payments, of the population prior against the agent's own history in a category. */
const PRIOR_WEIGHT = 4;
const MIN_POP_STD = 0.3;
/** Agents that must have paid in a category before it is used as evidence in agent.categoryAffinity. */
const AFFINITY_MIN_AGENTS = 30;

/** What all agents pay in one category (or category group), per currency: log-space mean and variance. */
export class PopStat {
  n = 0;
  meanLog = 0;
  varLog = 0;
}

/** The agent's amounts in one category: log-space mean and variance, largest amount. */
export class CategoryStat {
  firstMs = 0;
  lastMs = 0;
  n = 0;
  meanLog = 0;
  varLog = 0;
  max = 0;
}

/** Folds x into an exponentially weighted mean/variance (weight 1/n at first, then at least `floor`). */
function fold(st: { n: number; meanLog: number; varLog: number }, x: number, floor: number): void {
  const alpha = Math.max(1 / (st.n + 1), floor);
  if (st.n === 0) {
    st.meanLog = x;
    st.varLog = 0;
  } else {
    const d = x - st.meanLog;
    st.meanLog += alpha * d;
    st.varLog = (1 - alpha) * (st.varLog + alpha * d * d);
  }
}

export class AgentState {
  r1m = new Ring(10_000, 6, 3);          // cnt, sum, attempts
  r1h = new Ring(5 * MIN, 12, 5);        // cnt, sum, attempts, declines, failures
  r24h = new Ring(HOUR, 24, AGENT_R24H_CHANNELS); // cnt, sum, attempts, declines, failures, new merchants, refunds, new-category attempts
  n = 0;
  firstMs = -1;
  meanLog = 0;
  varLog = 0;
  maxAmount = 0;
  dayIdx = -1;
  dayAcc = 0;
  dailyEwma = 0;
  days = 0;
  merchants: LruMap<string, number>;
  categories: LruMap<string, CategoryStat>;
  groups = new Set<string>();
  hours = new Float64Array(24);
  recentMerchant: string[] = new Array<string>(RECENT).fill("");
  recentAmount = new Float64Array(RECENT);
  recentAt = new Float64Array(RECENT).fill(-1e15);
  recentIdx = 0;
  /** Exponentially weighted share of committed payments that repeated an amount among the previous RECENT. */
  repeatShare = 0;
  declCategory: string[] = new Array<string>(RECENT_DECLINES).fill("");
  declAt = new Float64Array(RECENT_DECLINES).fill(-1e15);
  declIdx = 0;
  constructor(maxMerchants: number, maxCategories: number) {
    this.merchants = new LruMap(maxMerchants);
    this.categories = new LruMap(maxCategories);
  }
}

export class SubWalletState {
  r1m = new Ring(10_000, 6, 2);
  r1h = new Ring(5 * MIN, 12, 2);
  r24h = new Ring(HOUR, 24, 2);
}

export class MerchantState {
  firstMs = -1;
  agents: Set<string> | null = new Set();
  agentCount = 0;
  r1h = new Ring(5 * MIN, 12, 1);   // attempts
  r24h = new Ring(HOUR, 24, 1);     // declines
}

export const MERCHANT_AGENT_CAP = 32;

export interface FeatureLimits {
  /** Agents (per currency) kept in memory; the least recently active is forgotten first. */
  maxAgents: number;
  maxSubWallets: number;
  maxMerchants: number;
  /** Merchants / categories remembered per agent. */
  maxMerchantsPerAgent: number;
  maxCategoriesPerAgent: number;
  /** Categories and groups (per currency) with a population amount prior. */
  maxCategories: number;
  /** Category pairs counted for agent.categoryAffinity (new pairs are not counted beyond this). */
  maxCategoryPairs: number;
}

export const defaultFeatureLimits: FeatureLimits = {
  maxAgents: 50_000,
  maxSubWallets: 50_000,
  maxMerchants: 100_000,
  maxMerchantsPerAgent: 256,
  maxCategoriesPerAgent: 64,
  maxCategories: 4_096,
  maxCategoryPairs: 200_000,
};

export function agentKey(agentId: string, currency: string): string {
  return agentId + "\u0000" + currency;
}

/** Per-agent, per-sub-wallet and per-merchant features, updated incrementally by record(). */
export class FeatureStore {
  readonly limits: FeatureLimits;
  agents: LruMap<string, AgentState>;
  subWallets: LruMap<string, SubWalletState>;
  merchants: LruMap<string, MerchantState>;
  /** Population amount priors, keyed currency + "\u0000" + MCC or "g:" + group. */
  pop: LruMap<string, PopStat>;
  /** Agents (per currency) that have paid in each category, and in each pair of categories. */
  catAgents = new Map<string, number>();
  catPairs = new Map<string, Map<string, number>>();
  catPairCount = 0;

  constructor(limits: Partial<FeatureLimits> = {}) {
    this.limits = { ...defaultFeatureLimits, ...limits };
    this.agents = new LruMap(this.limits.maxAgents);
    this.subWallets = new LruMap(this.limits.maxSubWallets);
    this.merchants = new LruMap(this.limits.maxMerchants);
    this.pop = new LruMap(this.limits.maxCategories);
  }

  /** The population prior for the intent's category, else its group's; undefined without enough payments. */
  #popPrior(currency: string, category: string): PopStat | undefined {
    const c = this.pop.peek(currency + "\u0000" + category);
    if (c !== undefined && c.n >= POP_MIN) return c;
    const g = this.pop.peek(currency + "\u0000g:" + categoryGroup(category));
    if (g !== undefined && g.n >= POP_MIN) return g;
    return undefined;
  }

  /** The agent pays in category `c` for the first time: count it with each of its other categories. */
  #countPairs(a: AgentState, c: string): void {
    if (!this.catAgents.has(c) && this.catAgents.size >= this.limits.maxCategories) return;
    this.catAgents.set(c, (this.catAgents.get(c) ?? 0) + 1);
    for (const k of a.categories.map.keys()) {
      if (k === c) continue;
      this.#bumpPair(k, c);
      this.#bumpPair(c, k);
    }
  }

  #bumpPair(k: string, c: string): void {
    let m = this.catPairs.get(k);
    if (m === undefined) {
      if (this.catPairCount >= this.limits.maxCategoryPairs) return;
      m = new Map();
      this.catPairs.set(k, m);
    }
    const v = m.get(c);
    if (v === undefined) {
      if (this.catPairCount >= this.limits.maxCategoryPairs) return;
      this.catPairCount++;
      m.set(c, 1);
    } else m.set(c, v + 1);
  }

  #affinity(a: AgentState, c: string): number {
    let best = -1;
    for (const k of a.categories.map.keys()) {
      if (k === c) continue;
      const nk = this.catAgents.get(k);
      if (nk === undefined || nk < AFFINITY_MIN_AGENTS) continue;
      const share = (this.catPairs.get(k)?.get(c) ?? 0) / nk;
      if (best < 0 || share < best) best = share;
    }
    return best;
  }

  #foldPop(key: string, x: number): void {
    let p = this.pop.touch(key);
    if (p === undefined) {
      p = new PopStat();
      this.pop.set(key, p);
    }
    // winsorised: a burst of odd payments (an attack that got through) cannot drag the prior far
    if (p.n >= POP_MIN) {
      const lim = 3.5 * Math.max(Math.sqrt(p.varLog), MIN_POP_STD);
      x = Math.min(Math.max(x, p.meanLog - lim), p.meanLog + lim);
    }
    fold(p, x, 0.002);
    p.n++;
  }

  /** Fills `fv` with the features of `intent` (all but owner/global, which the breaker fills). Reads only. */
  compute(intent: RiskIntent, amt: number, fv: Float64Array, scale = 1): void {
    const t = intent.atMs;
    fv.fill(0);
    fv[F["intent.amountMinor"]] = amt;
    const hour = Math.floor((t % DAY) / HOUR);
    fv[F["intent.hourOfDay"]] = hour;
    let limit = 0;
    if (intent.perPaymentLimitMinor !== undefined && intent.perPaymentLimitMinor > 0n) limit = Number(intent.perPaymentLimitMinor) * scale;
    if (intent.approvalThresholdMinor !== undefined && intent.approvalThresholdMinor > 0n) {
      const a = Number(intent.approvalThresholdMinor) * scale;
      limit = limit === 0 ? a : Math.min(limit, a);
    }
    fv[F["intent.nearLimitRatio"]] = limit > 0 ? amt / limit : 0;
    fv[F["grant.ageMs"]] = intent.grantCreatedAtMs === undefined ? -1 : Math.max(0, t - intent.grantCreatedAtMs);

    const pop = this.#popPrior(intent.currency, intent.category);
    const lx = amt > 0 ? Math.log(amt) : 0;
    let popStd = 0;
    if (pop !== undefined) {
      popStd = Math.max(Math.sqrt(pop.varLog), MIN_POP_STD);
      fv[F["category.typicalAmount"]] = Math.exp(pop.meanLog);
      fv[F["category.sampleCount"]] = pop.n;
      fv[F["category.amountSpread"]] = popStd;
      if (amt > 0) {
        fv[F["amount.popZ"]] = (lx - pop.meanLog) / popStd;
        fv[F["amount.popRatio"]] = amt / Math.exp(pop.meanLog);
      } else fv[F["amount.popRatio"]] = 1;
    } else fv[F["amount.popRatio"]] = 1;
    fv[F["amount.priorRatio"]] = 1;

    const a = this.agents.peek(agentKey(intent.agentId, intent.currency));
    if (a === undefined) {
      fv[F["agent.categoryAffinity"]] = -1;
      fv[F["agent.repeatShare"]] = -1;
      if (pop !== undefined && amt > 0) {
        fv[F["amount.priorZ"]] = fv[F["amount.popZ"]]!;
        fv[F["amount.priorRatio"]] = fv[F["amount.popRatio"]]!;
      }
      fv[F["agent.ageMs"]] = -1;
      fv[F["agent.merchantNew"]] = 1;
      fv[F["agent.categoryNew"]] = 1;
      fv[F["agent.groupNew"]] = 1;
      fv[F["agent.categoryAgeMs"]] = -1;
      fv[F["agent.amountRatio"]] = 1;
      fv[F["agent.maxRatio"]] = 1;
      fv[F["agent.hourShare"]] = 1;
      fv[F["agent.dailyRatio"]] = 1;
    } else {
      fv[F["agent.txCount"]] = a.n;
      fv[F["agent.ageMs"]] = a.firstMs < 0 ? -1 : t - a.firstMs;
      fv[F["agent.count1m"]] = a.r1m.read(t, C_CNT);
      fv[F["agent.amount1m"]] = a.r1m.read(t, C_SUM);
      fv[F["agent.attempts1m"]] = a.r1m.read(t, C_ATT);
      fv[F["agent.count1h"]] = a.r1h.read(t, C_CNT);
      fv[F["agent.amount1h"]] = a.r1h.read(t, C_SUM);
      fv[F["agent.attempts1h"]] = a.r1h.read(t, C_ATT);
      fv[F["agent.declines1h"]] = a.r1h.read(t, C_DEC);
      fv[F["agent.failures1h"]] = a.r1h.read(t, C_FAIL);
      const amount24h = a.r24h.read(t, C_SUM);
      fv[F["agent.count24h"]] = a.r24h.read(t, C_CNT);
      fv[F["agent.amount24h"]] = amount24h;
      fv[F["agent.declines24h"]] = a.r24h.read(t, C_DEC);
      fv[F["agent.failures24h"]] = a.r24h.read(t, C_FAIL);
      fv[F["agent.newMerchants24h"]] = a.r24h.read(t, C_NEWM);
      fv[F["agent.newCategoryAttempts24h"]] = a.r24h.read(t, C_NEWC);
      fv[F["agent.refunds24h"]] = a.r24h.read(t, C_REF);
      const typical = Math.exp(a.meanLog);
      fv[F["agent.typicalAmount"]] = a.n > 0 ? typical : 0;
      const cat = a.categories.peek(intent.category);
      const h0: { n: number; meanLog: number; varLog: number } = cat !== undefined && cat.n >= MIN_HISTORY ? cat : a;
      const max = h0 === a ? a.maxAmount : cat!.max;
      if (h0.n >= MIN_HISTORY && amt > 0) {
        const std = Math.max(Math.sqrt(h0.varLog), MIN_LOG_STD);
        fv[F["agent.amountZ"]] = (Math.log(amt) - h0.meanLog) / std;
        fv[F["agent.amountRatio"]] = amt / Math.exp(h0.meanLog);
        fv[F["agent.maxRatio"]] = max > 0 ? amt / max : 1;
      } else {
        fv[F["agent.amountRatio"]] = 1;
        fv[F["agent.maxRatio"]] = 1;
      }
      if (amt > 0) {
        const nc = cat === undefined ? 0 : cat.n;
        if (pop !== undefined) {
          const k = PRIOR_WEIGHT;
          const mu = nc > 0 ? (k * pop.meanLog + nc * cat!.meanLog) / (k + nc) : pop.meanLog;
          const v = nc > 0 ? (k * popStd * popStd + nc * Math.max(cat!.varLog, MIN_LOG_STD * MIN_LOG_STD)) / (k + nc) : popStd * popStd;
          fv[F["amount.priorZ"]] = (lx - mu) / Math.sqrt(v);
          fv[F["amount.priorRatio"]] = amt / Math.exp(mu);
        } else {
          fv[F["amount.priorZ"]] = fv[F["agent.amountZ"]]!;
          fv[F["amount.priorRatio"]] = fv[F["agent.amountRatio"]]!;
        }
      }
      let cDecl = 0, gDecl = 0;
      const grp = categoryGroup(intent.category);
      for (let i = 0; i < RECENT_DECLINES; i++) {
        if (a.declAt[i]! <= t - DAY) continue;
        const dc = a.declCategory[i]!;
        if (dc === intent.category) cDecl++;
        if (categoryGroup(dc) === grp) gDecl++;
      }
      fv[F["agent.categoryAffinity"]] = this.#affinity(a, intent.category);
      fv[F["agent.categoryDeclines24h"]] = cDecl;
      fv[F["agent.groupDeclines24h"]] = gDecl;
      fv[F["agent.merchantNew"]] = a.merchants.peek(intent.merchantId) === undefined ? 1 : 0;
      fv[F["agent.categoryNew"]] = cat === undefined ? 1 : 0;
      fv[F["agent.categoryAgeMs"]] = cat === undefined ? -1 : t - cat.firstMs;
      fv[F["agent.categoryTxCount"]] = cat === undefined ? 0 : cat.n;
      fv[F["agent.groupNew"]] = a.groups.has(categoryGroup(intent.category)) ? 0 : 1;
      fv[F["agent.merchantCount"]] = a.merchants.size;
      fv[F["agent.categoryCount"]] = a.categories.size;
      fv[F["agent.groupCount"]] = a.groups.size;
      let same10 = 0, same24 = 0, merch10 = 0, repeats = 0;
      const m = intent.merchantId;
      for (let i = 0; i < RECENT; i++) {
        const at = a.recentAt[i]!;
        if (a.recentAmount[i] === amt && at > -1e15) repeats++;
        if (at <= t - DAY || a.recentMerchant[i] !== m) continue;
        const sameAmt = a.recentAmount[i] === amt;
        if (sameAmt) same24++;
        if (at > t - 10 * MIN) {
          merch10++;
          if (sameAmt) same10++;
        }
      }
      fv[F["agent.sameMerchantAmount10m"]] = same10;
      fv[F["agent.sameMerchantAmount24h"]] = same24;
      fv[F["agent.sameMerchant10m"]] = merch10;
      fv[F["agent.amountRepeats"]] = repeats;
      fv[F["agent.repeatShare"]] = a.n >= MIN_HISTORY ? a.repeatShare : -1;
      if (a.n >= 20) {
        const h = a.hours;
        fv[F["agent.hourShare"]] = (h[(hour + 23) % 24]! + h[hour]! + h[(hour + 1) % 24]!) / a.n;
      } else {
        fv[F["agent.hourShare"]] = 1;
      }
      const dailyTypical = Math.max(a.dailyEwma, a.n > 0 ? typical : 0);
      fv[F["agent.dailyRatio"]] = dailyTypical > 0 ? (amount24h + amt) / dailyTypical : 1;
    }

    const s = this.subWallets.peek(intent.subWalletId);
    if (s !== undefined) {
      fv[F["subWallet.count1m"]] = s.r1m.read(t, 0);
      fv[F["subWallet.amount1m"]] = s.r1m.read(t, 1);
      fv[F["subWallet.count1h"]] = s.r1h.read(t, 0);
      fv[F["subWallet.amount1h"]] = s.r1h.read(t, 1);
      fv[F["subWallet.count24h"]] = s.r24h.read(t, 0);
      fv[F["subWallet.amount24h"]] = s.r24h.read(t, 1);
    }

    const mer = this.merchants.peek(intent.merchantId);
    if (mer === undefined) {
      fv[F["merchant.ageMs"]] = -1;
    } else {
      fv[F["merchant.agentCount"]] = mer.agentCount;
      fv[F["merchant.ageMs"]] = mer.firstMs < 0 ? -1 : t - mer.firstMs;
      fv[F["merchant.attempts1h"]] = mer.r1h.read(t, 0);
      fv[F["merchant.declines24h"]] = mer.r24h.read(t, 0);
    }
  }

  record(e: RiskEvent, amt: number): void {
    const t = e.atMs;
    const key = agentKey(e.agentId, e.currency);
    let a = this.agents.touch(key);
    if (a === undefined) {
      a = new AgentState(this.limits.maxMerchantsPerAgent, this.limits.maxCategoriesPerAgent);
      this.agents.set(key, a);
    }
    let mer = this.merchants.touch(e.merchantId);
    if (mer === undefined) {
      mer = new MerchantState();
      this.merchants.set(e.merchantId, mer);
    }
    if ((e.kind === "authorized" || e.kind === "declined" || e.kind === "failed") && a.categories.peek(e.category) === undefined) {
      a.r24h.add(t, C_NEWC, 1);
    }
    switch (e.kind) {
      case "authorized": {
        const att = e.countsAsAttempt === false ? 0 : 1;
        a.r1m.add(t, C_CNT, 1); a.r1m.add(t, C_SUM, amt); a.r1m.add(t, C_ATT, att);
        a.r1h.add(t, C_CNT, 1); a.r1h.add(t, C_SUM, amt); a.r1h.add(t, C_ATT, att);
        a.r24h.add(t, C_CNT, 1); a.r24h.add(t, C_SUM, amt); a.r24h.add(t, C_ATT, att);
        // amount distribution in log space: exponentially weighted, so it follows a changing agent
        let cat = a.categories.touch(e.category);
        if (cat === undefined) {
          this.#countPairs(a, e.category);
          cat = new CategoryStat();
          cat.firstMs = t;
          a.categories.set(e.category, cat);
        }
        cat.lastMs = t;
        if (amt > 0) {
          const x = Math.log(amt);
          fold(a, x, 0.02);
          fold(cat, x, 0.05);
          this.#foldPop(e.currency + "\u0000" + e.category, x);
          this.#foldPop(e.currency + "\u0000g:" + categoryGroup(e.category), x);
          if (amt > a.maxAmount) a.maxAmount = amt;
          if (amt > cat.max) cat.max = amt;
        }
        cat.n++;
        if (a.groups.size < 32) a.groups.add(categoryGroup(e.category));
        if (a.firstMs < 0) a.firstMs = t;
        a.n++;
        // daily outflow, exponentially weighted over days
        const day = Math.floor(t / DAY);
        if (a.dayIdx < 0) a.dayIdx = day;
        if (day > a.dayIdx) {
          rollDays(a, day);
        }
        a.dayAcc += amt;
        a.hours[Math.floor((t % DAY) / HOUR)]! += 1;
        if (a.merchants.touch(e.merchantId) === undefined) {
          a.r24h.add(t, C_NEWM, 1);
          a.merchants.set(e.merchantId, t);
        } else {
          a.merchants.set(e.merchantId, t);
        }
        let repeated = 0;
        for (let j = 0; j < RECENT; j++) if (a.recentAmount[j] === amt && a.recentAt[j]! > -1e15) { repeated = 1; break; }
        a.repeatShare += Math.max(1 / a.n, 0.05) * (repeated - a.repeatShare);   // a.n already counts this payment
        const i = a.recentIdx;
        a.recentMerchant[i] = e.merchantId;
        a.recentAmount[i] = amt;
        a.recentAt[i] = t;
        a.recentIdx = (i + 1) % RECENT;

        let s = this.subWallets.touch(e.subWalletId);
        if (s === undefined) {
          s = new SubWalletState();
          this.subWallets.set(e.subWalletId, s);
        }
        s.r1m.add(t, 0, 1); s.r1m.add(t, 1, amt);
        s.r1h.add(t, 0, 1); s.r1h.add(t, 1, amt);
        s.r24h.add(t, 0, 1); s.r24h.add(t, 1, amt);

        if (mer.firstMs < 0) mer.firstMs = t;
        if (mer.agents !== null && !mer.agents.has(e.agentId)) {
          mer.agents.add(e.agentId);
          mer.agentCount = mer.agents.size;
          if (mer.agentCount >= MERCHANT_AGENT_CAP) mer.agents = null;
        }
        mer.r1h.add(t, 0, 1);
        break;
      }
      case "declined": {
        // a person's denial after a review: the review already counted the attempt
        const att = e.countsAsAttempt === false ? 0 : 1;
        const d = a.declIdx;
        a.declCategory[d] = e.category;
        a.declAt[d] = t;
        a.declIdx = (d + 1) % RECENT_DECLINES;
        a.r1m.add(t, C_ATT, att);
        a.r1h.add(t, C_ATT, att); a.r1h.add(t, C_DEC, 1);
        a.r24h.add(t, C_ATT, att); a.r24h.add(t, C_DEC, 1);
        mer.r1h.add(t, 0, att);
        mer.r24h.add(t, 0, 1);
        break;
      }
      case "failed":
        a.r1m.add(t, C_ATT, 1);
        a.r1h.add(t, C_ATT, 1); a.r1h.add(t, C_FAIL, 1);
        a.r24h.add(t, C_ATT, 1); a.r24h.add(t, C_FAIL, 1);
        mer.r1h.add(t, 0, 1);
        break;
      case "reviewed":
        a.r1m.add(t, C_ATT, 1);
        a.r1h.add(t, C_ATT, 1);
        a.r24h.add(t, C_ATT, 1);
        mer.r1h.add(t, 0, 1);
        break;
      case "refunded":
      case "voided":
        a.r24h.add(t, C_REF, 1);
        break;
      case "captured":
        break;
    }
  }
}

function rollDays(a: AgentState, day: number): void {
  const alpha = 0.2;
  let gap = day - a.dayIdx;
  a.dailyEwma = a.days === 0 ? a.dayAcc : alpha * a.dayAcc + (1 - alpha) * a.dailyEwma;
  a.days++;
  gap--;
  if (gap > 0) a.dailyEwma *= Math.pow(1 - alpha, Math.min(gap, 60));
  a.dayAcc = 0;
  a.dayIdx = day;
}

export { F as FEATURE };

/**
 * Broad groups of merchant category codes (ISO 18245 ranges), so that a travel agent's first car
 * rental is a small step and a groceries agent's first crypto exchange a big one.
 */
const GROUP_RANGES: Array<[number, number, string]> = [
  [4829, 4829, "cash-like"], [5933, 5933, "cash-like"], [5947, 5947, "cash-like"], [6010, 6012, "cash-like"],
  [6050, 6051, "cash-like"], [6211, 6211, "cash-like"], [6540, 6540, "cash-like"], [7995, 7995, "cash-like"],
  [3000, 3999, "travel"], [4000, 4799, "travel"], [7011, 7033, "travel"], [7512, 7519, "travel"],
  [4816, 4816, "digital"], [4899, 4899, "digital"], [5734, 5734, "digital"], [5815, 5818, "digital"],
  [5968, 5968, "digital"], [7372, 7372, "digital"], [7379, 7379, "digital"],
  [4800, 4999, "utilities"],
  [5411, 5499, "groceries"], [5912, 5912, "groceries"],
  [5811, 5814, "dining"],
  [5000, 5999, "retail"],
  [6000, 6999, "financial"],
  [7000, 7999, "services"],
  [8000, 8999, "professional"],
  [9000, 9999, "government"],
];

const groupCache = new Map<string, string>();

/** The broad group of an MCC ("other" for anything that is not a 4-digit code in a known range). */
export function categoryGroup(mcc: string): string {
  const hit = groupCache.get(mcc);
  if (hit !== undefined) return hit;
  let g = "other";
  if (/^\d{4}$/.test(mcc)) {
    const n = Number(mcc);
    for (const [lo, hi, name] of GROUP_RANGES) if (n >= lo && n <= hi) { g = name; break; }
  }
  if (groupCache.size < 10_000) groupCache.set(mcc, g);
  return g;
}
