import type { RiskIntent } from "../types.ts";
import { CARD_TEST_CATEGORIES, CASHOUT_CATEGORIES, PERSONAS, PERSONA_WEIGHTS, type CategoryProfile, type Persona } from "./personas.ts";
import { Prng, Zipf } from "./prng.ts";

export const ATTACK_KINDS = [
  "runaway_loop", "scope_drift", "amount_spike", "payee_swap", "slow_drain", "card_testing", "mass_compromise",
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];
export type SimLabel = "legit" | AttackKind;

export interface SimPayment {
  intent: RiskIntent;
  label: SimLabel;
  /** Which attack incident (0 for legitimate traffic). */
  incident: number;
  /** The payment fails downstream even if allowed (merchant error, or a card tester's dead card). */
  failsIfAllowed: boolean;
  /**
   * The sub-wallet policy's category allow-list, if its person set one (the approval threshold and the
   * per-payment cap travel in the intent, as the payment flow hands them to the risk engine).
   */
  allowedCategories?: ReadonlySet<string>;
}

export interface SimOptions {
  seed: number;
  /** Agents (each with its own sub-wallet; 1-3 sub-wallets per person). */
  agents?: number;
  /** Days of normal traffic before measuring: the history the engine has when attacks begin (default 30). */
  warmupDays?: number;
  /** Days measured, with attacks injected. */
  days?: number;
  startMs?: number;
  /** Attack incidents per kind during the measured days. */
  attacks?: Partial<Record<AttackKind, number>>;
  /** Share of all sub-wallets hit by one mass-compromise incident. */
  massCompromiseShare?: number;
  /**
   * Share of all agents onboarded (fresh grant, no history) per simulated day, warm-up included; agents
   * onboarded during the measured days are new when they pay, as in life. Default 0.05 / 19: the 5% of
   * agents that a 5 + 14-day run used to onboard, so the measured days see as many new agents as before.
   */
  newAgentsPerDay?: number;
  /**
   * Share of sub-wallets whose person set a category allow-list: their persona's categories, what the
   * agent is for (default 0.5). Drawn from a generator of its own, so it changes no traffic.
   */
  allowListShare?: number;
}

export interface SimResult {
  payments: SimPayment[];
  measureFromMs: number;
  endMs: number;
  agents: number;
  owners: number;
}

export const defaultAttackCounts: Record<AttackKind, number> = {
  runaway_loop: 30, scope_drift: 60, amount_spike: 80, payee_swap: 60, slow_drain: 25, card_testing: 25, mass_compromise: 1,
};

const MIN = 60_000, HOUR = 3_600_000, DAY = 86_400_000;

interface CatState {
  prof: CategoryProfile;
  zipf: Zipf;
  weight: number;
  scale: number;                 // the agent's own price level in the category
  preferred: number[];           // merchant ranks
  prices: Map<number, number>;   // fixed price per merchant rank
}

interface SimAgent {
  id: string;
  subWalletId: string;
  ownerId: string;
  persona: Persona;
  cats: CatState[];
  catCdf: number[];
  rate: number;
  startMs: number;
  grantAtMs: number;
  approvalMinor?: bigint;
  perPaymentMinor?: bigint;
  allowed?: ReadonlySet<string>;
  typicalMinor: number;
}

const zipfCache = new Map<number, Zipf>();
function zipfOf(n: number): Zipf {
  let z = zipfCache.get(n);
  if (!z) {
    z = new Zipf(n, 1);
    zipfCache.set(n, z);
  }
  return z;
}

export function merchantId(mcc: string, rank: number): string {
  return `mch_${mcc}_${rank}`;
}

const DENOMINATIONS = [1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 50_000];

function pricePoint(rng: Prng, c: CatState, persona: Persona): number {
  const raw = rng.lognormal(c.prof.medianMinor * c.scale, c.prof.sigma);
  if (persona.name === "api-credits") {
    let best = DENOMINATIONS[0]!;
    for (const d of DENOMINATIONS) if (Math.abs(Math.log(d / raw)) < Math.abs(Math.log(best / raw))) best = d;
    return best;
  }
  return Math.max(99, Math.floor(raw / 100) * 100 + 99); // 14.99-style prices
}

function makeAgent(rng: Prng, i: number, ownerId: string, persona: Persona, startMs: number, grantAtMs: number): SimAgent {
  const cats: CatState[] = persona.categories.map((prof) => {
    // minor categories are used by only some agents of the persona
    const used = prof.weight >= 0.15 || rng.chance(0.5);
    const c: CatState = {
      prof, zipf: zipfOf(prof.pool), weight: used ? prof.weight * rng.range(0.5, 1.5) : 0,
      scale: rng.lognormal(1, 0.3), preferred: [], prices: new Map(),
    };
    const k = persona.preferred[0] + rng.int(persona.preferred[1] - persona.preferred[0] + 1);
    for (let j = 0; j < k; j++) {
      const r = c.zipf.sample(rng);
      if (!c.preferred.includes(r)) c.preferred.push(r);
    }
    return c;
  });
  if (cats.every((c) => c.weight === 0)) cats[0]!.weight = 1;
  const total = cats.reduce((s, c) => s + c.weight, 0);
  let acc = 0;
  const catCdf = cats.map((c) => (acc += c.weight / total));
  for (const c of cats) for (const r of c.preferred) if (persona.fixedPrices) c.prices.set(r, pricePoint(rng, c, persona));
  const main = cats.reduce((a, b) => (b.weight > a.weight ? b : a));
  const typicalMinor = main.prof.medianMinor * main.scale;
  const a: SimAgent = {
    id: `agt_${i}`, subWalletId: `sub_${i}`, ownerId, persona, cats, catCdf,
    rate: persona.perDay * rng.lognormal(1, 0.5), startMs, grantAtMs, typicalMinor,
  };
  // The person's policy for the sub-wallet, in round numbers relative to what the agent buys: every
  // sub-wallet has a per-payment cap (the canonical policy, as in the README); 60% also ask for approval
  // above a threshold, at half the cap.
  const approval = BigInt(Math.max(1000, Math.round((typicalMinor * persona.approvalMultiple * rng.range(0.8, 1.5)) / 1000) * 1000));
  if (rng.chance(0.6)) a.approvalMinor = approval;
  a.perPaymentMinor = approval * 2n;
  return a;
}

function intentOf(a: SimAgent, mid: string, mcc: string, amountMinor: number, atMs: number): RiskIntent {
  const it: RiskIntent = {
    agentId: a.id, subWalletId: a.subWalletId, ownerId: a.ownerId, merchantId: mid, category: mcc,
    amountMinor: BigInt(Math.max(1, Math.round(amountMinor))), currency: "USD", atMs: Math.floor(atMs),
    grantCreatedAtMs: a.grantAtMs,
  };
  if (a.approvalMinor !== undefined) it.approvalThresholdMinor = a.approvalMinor;
  if (a.perPaymentMinor !== undefined) it.perPaymentLimitMinor = a.perPaymentMinor;
  return it;
}

function withPolicy(a: SimAgent, p: SimPayment): SimPayment {
  if (a.allowed !== undefined) p.allowedCategories = a.allowed;
  return p;
}

function pickCat(rng: Prng, a: SimAgent): CatState {
  const u = rng.next();
  for (let i = 0; i < a.catCdf.length; i++) if (u < a.catCdf[i]!) return a.cats[i]!;
  return a.cats[a.cats.length - 1]!;
}

/** One legitimate payment of the agent at `t`. */
function legitPayment(rng: Prng, a: SimAgent, t: number, c: CatState = pickCat(rng, a)): SimPayment {
  let rank: number;
  if (c.preferred.length === 0 || rng.chance(a.persona.explore)) {
    rank = c.zipf.sample(rng);
    if (!c.preferred.includes(rank) && rng.chance(0.3)) {
      c.preferred.push(rank);
      if (a.persona.fixedPrices) c.prices.set(rank, pricePoint(rng, c, a.persona));
    }
  } else {
    rank = rng.pick(c.preferred);
  }
  let amt: number;
  const fixed = c.prices.get(rank);
  if (fixed !== undefined && !rng.chance(0.05)) amt = fixed;
  else if (a.persona.fixedPrices) amt = pricePoint(rng, c, a.persona);
  else amt = rng.lognormal(c.prof.medianMinor * c.scale, c.prof.sigma);
  // Above the per-payment cap the policy declines the payment before the risk engine sees it; callers
  // leave such payments out (see overCap) rather than pretend the merchant's price fits the cap.
  return withPolicy(a, { intent: intentOf(a, merchantId(c.prof.mcc, rank), c.prof.mcc, amt, t), label: "legit", incident: 0, failsIfAllowed: rng.chance(0.005) });
}

function overCap(a: SimAgent, p: SimPayment): boolean {
  return a.perPaymentMinor !== undefined && p.intent.amountMinor > a.perPaymentMinor;
}

function hourWeights(p: Persona): number[] {
  const s = p.hours.reduce((x, y) => x + y, 0);
  return p.hours.map((h) => h / s);
}

/**
 * Generates a deterministic run: legitimate traffic for warmup + measured days, and attacks
 * injected into the measured days. Payments are sorted by time.
 */
export function simulate(opts: SimOptions): SimResult {
  const rng = new Prng(opts.seed);
  const nAgents = opts.agents ?? 11_000;
  const warmupDays = opts.warmupDays ?? 30;
  const days = opts.days ?? 14;
  const startMs = opts.startMs ?? Date.UTC(2026, 0, 5);
  const measureFromMs = startMs + warmupDays * DAY;
  const endMs = measureFromMs + days * DAY;
  const attacks = { ...defaultAttackCounts, ...opts.attacks };
  const newPerDay = opts.newAgentsPerDay ?? 0.05 / 19;
  const policyRng = new Prng((opts.seed ^ 0x51ed270b) >>> 0);
  const allowShare = opts.allowListShare ?? 0.5;

  // people and their agents
  const agents: SimAgent[] = [];
  let owner = 0;
  while (agents.length < nAgents) {
    const ownerId = `own_${owner++}`;
    const k = Math.min(nAgents - agents.length, 1 + rng.int(3));
    const used = new Set<number>();
    for (let j = 0; j < k; j++) {
      let pi = 0;
      do {
        const u = rng.next();
        let acc = 0;
        pi = PERSONA_WEIGHTS.length - 1;
        for (let q = 0; q < PERSONA_WEIGHTS.length; q++) if (u < (acc += PERSONA_WEIGHTS[q]!)) { pi = q; break; }
      } while (used.has(pi) && used.size < PERSONAS.length);
      used.add(pi);
      const fresh = rng.chance(Math.min(1, newPerDay * (warmupDays + days)));
      const start = fresh ? startMs + rng.range(0, warmupDays + days) * DAY : startMs;
      const grantAt = fresh ? start - rng.range(0, 10) * MIN : startMs - rng.range(1, 200) * DAY;
      const a = makeAgent(rng, agents.length, ownerId, PERSONAS[pi]!, start, grantAt);
      if (policyRng.chance(allowShare)) a.allowed = new Set(a.persona.categories.map((c) => c.mcc));
      agents.push(a);
    }
  }

  const out: SimPayment[] = [];
  const totalDays = warmupDays + days;
  for (const a of agents) {
    const w = hourWeights(a.persona);
    const mine: SimPayment[] = [];
    for (let d = 0; d < totalDays; d++) {
      const dayStart = startMs + d * DAY;
      const dow = new Date(dayStart).getUTCDay();
      const f = dow === 0 || dow === 6 ? a.persona.weekendFactor : 1;
      for (let h = 0; h < 24; h++) {
        const n = rng.poisson(a.rate * f * w[h]!);
        for (let k = 0; k < n; k++) {
          let t = dayStart + h * HOUR + rng.next() * HOUR;
          if (t < a.startMs || t >= endMs) continue;
          const size = a.persona.sessionSize ? a.persona.sessionSize[0] + rng.int(a.persona.sessionSize[1] - a.persona.sessionSize[0] + 1) : 1;
          const usedCats = new Set<CatState>();
          for (let s = 0; s < size; s++) {
            let c = pickCat(rng, a);
            for (let tries = 0; tries < 4 && usedCats.has(c); tries++) c = pickCat(rng, a);
            if (usedCats.has(c)) break;
            usedCats.add(c);
            const p = legitPayment(rng, a, t, c);
            if (!overCap(a, p)) mine.push(p);
            t += rng.exp(3 * MIN) + 10_000;
          }
        }
      }
    }
    mine.sort((x, y) => x.intent.atMs - y.intent.atMs);
    const gap = a.persona.minGapMs;
    let last = -Infinity;
    for (const p of mine) {
      if (gap !== undefined && p.intent.atMs - last < gap) continue;
      last = p.intent.atMs;
      out.push(p);
    }
  }

  // attacks
  let incident = 0;
  const attackMerchant = (mcc: string): [string, string] => [`mch_${mcc}_x${rng.int(1e9).toString(36)}`, mcc];
  const victims = agents.filter((a) => a.startMs <= measureFromMs);
  const inMeasured = (t: number) => t >= measureFromMs && t < endMs;
  const push = (a: SimAgent, mid: string, mcc: string, amt: number, t: number, label: AttackKind, inc: number, fails = false) => {
    if (!inMeasured(t)) return;
    if (a.perPaymentMinor !== undefined) amt = Math.min(amt, Number(a.perPaymentMinor) * 0.99);
    out.push(withPolicy(a, { intent: intentOf(a, mid, mcc, amt, t), label, incident: inc, failsIfAllowed: fails }));
  };
  const usedCat = (a: SimAgent) => a.cats.filter((c) => c.weight > 0 && c.preferred.length > 0);
  const attackStart = () => measureFromMs + rng.next() * (days * DAY - 2 * DAY);

  for (let n = 0; n < attacks.runaway_loop; n++) {
    const a = rng.pick(victims);
    const inc = ++incident;
    let t = attackStart();
    let first = legitPayment(rng, a, t);
    for (let tries = 0; tries < 8 && overCap(a, first); tries++) first = legitPayment(rng, a, t);
    if (overCap(a, first)) continue;
    out.push(first);
    const reps = 10 + rng.int(140);
    for (let r = 0; r < reps; r++) {
      t += 2_000 + rng.exp(20_000);
      push(a, first.intent.merchantId, first.intent.category, Number(first.intent.amountMinor), t, "runaway_loop", inc);
    }
  }
  const otherCats: CategoryProfile[] = [...PERSONAS.flatMap((p) => p.categories), ...CASHOUT_CATEGORIES];
  for (let n = 0; n < attacks.scope_drift; n++) {
    const a = rng.pick(victims);
    const inc = ++incident;
    const mine = new Set(a.persona.categories.map((c) => c.mcc));
    const pool = otherCats.filter((c) => !mine.has(c.mcc));
    const drift = [rng.pick(pool), rng.pick(pool)];
    let t = attackStart();
    const k = 2 + rng.int(7);
    for (let j = 0; j < k; j++) {
      const c = rng.pick(drift);
      const rank = zipfOf(c.pool).sample(rng);
      push(a, merchantId(c.mcc, rank), c.mcc, rng.lognormal(c.medianMinor, c.sigma), t, "scope_drift", inc);
      t += rng.exp(2 * HOUR);
    }
  }
  for (let n = 0; n < attacks.amount_spike; n++) {
    const a = rng.pick(victims);
    const inc = ++incident;
    const cs = usedCat(a);
    if (cs.length === 0) continue;
    const c = rng.pick(cs);
    let t = attackStart();
    const k = 1 + (rng.chance(0.3) ? 1 : 0);
    for (let j = 0; j < k; j++) {
      // Above the approval threshold the policy asks the person anyway, so a spike that matters stays
      // under it; where the threshold leaves no room for a real spike (4x usual), there is none to make.
      const usual = c.prof.medianMinor * c.scale;
      let amt = usual * rng.logRange(8, 80);
      if (a.approvalMinor !== undefined && amt >= Number(a.approvalMinor)) {
        amt = Number(a.approvalMinor) * rng.range(0.9, 0.99);
        if (amt < 4 * usual) break;
      }
      push(a, merchantId(c.prof.mcc, rng.pick(c.preferred)), c.prof.mcc, amt, t, "amount_spike", inc);
      t += rng.exp(20 * MIN);
    }
  }
  for (let n = 0; n < attacks.payee_swap; n++) {
    const a = rng.pick(victims);
    const inc = ++incident;
    const cs = usedCat(a);
    if (cs.length === 0) continue;
    const c = rng.pick(cs);
    const [mid] = attackMerchant(c.prof.mcc);
    let t = attackStart();
    const k = 1 + rng.int(3);
    for (let j = 0; j < k; j++) {
      push(a, mid, c.prof.mcc, rng.lognormal(c.prof.medianMinor * c.scale, c.prof.sigma * 0.5), t, "payee_swap", inc);
      t += rng.exp(6 * HOUR);
    }
  }
  const limited = victims.filter((a) => a.approvalMinor !== undefined);
  for (let n = 0; n < attacks.slow_drain; n++) {
    const a = rng.pick(limited);
    const inc = ++incident;
    const limit = Number(a.approvalMinor);
    let mid: string, mcc: string;
    if (rng.chance(0.5)) {
      const c = rng.pick(CASHOUT_CATEGORIES);
      mcc = c.mcc;
      mid = merchantId(mcc, zipfOf(c.pool).sample(rng));
    } else {
      const cs = usedCat(a);
      [mid, mcc] = attackMerchant(cs.length ? rng.pick(cs).prof.mcc : a.cats[0]!.prof.mcc);
    }
    const t0 = attackStart();
    const nDays = 3 + rng.int(5);
    const w = hourWeights(a.persona);
    for (let d = 0; d < nDays; d++) {
      const perDay = 1 + rng.int(4);
      for (let j = 0; j < perDay; j++) {
        // at times the agent is usually active
        let h = 0;
        const u = rng.next();
        let acc = 0;
        for (h = 0; h < 23; h++) if (u < (acc += w[h]!)) break;
        const t = t0 + d * DAY + (h - new Date(t0).getUTCHours()) * HOUR + rng.next() * HOUR;
        if (t < t0) continue;
        push(a, mid, mcc, limit * rng.range(0.86, 0.99), t, "slow_drain", inc);
      }
    }
  }
  for (let n = 0; n < attacks.card_testing; n++) {
    const a = rng.pick(victims);
    const inc = ++incident;
    const merchants: Array<[string, string]> = [];
    const m = 1 + rng.int(4);
    for (let j = 0; j < m; j++) {
      const mcc = rng.pick(CARD_TEST_CATEGORIES);
      merchants.push(rng.chance(0.5) ? attackMerchant(mcc) : [merchantId(mcc, 20 + rng.int(200)), mcc]);
    }
    let t = attackStart();
    const k = 15 + rng.int(66);
    for (let j = 0; j < k; j++) {
      const [mid, mcc] = rng.pick(merchants);
      push(a, mid, mcc, rng.range(50, 300), t, "card_testing", inc, rng.chance(0.4));
      t += 1_000 + rng.exp(8_000);
    }
  }
  const share = opts.massCompromiseShare ?? 0.04;
  for (let n = 0; n < attacks.mass_compromise; n++) {
    const inc = ++incident;
    const t0 = attackStart();
    const sinks: Array<[string, string]> = [attackMerchant("5999"), attackMerchant("5732"), attackMerchant("7372")];
    const gift = CASHOUT_CATEGORIES[0]!;
    const k = Math.round(victims.length * share);
    const hit = new Set<SimAgent>();
    while (hit.size < k) hit.add(rng.pick(victims));
    for (const a of hit) {
      let t = t0 + rng.range(0, 45) * MIN;
      const m = 1 + rng.int(3);
      for (let j = 0; j < m; j++) {
        const [mid, mcc] = rng.chance(0.6) ? rng.pick(sinks) : [merchantId(gift.mcc, zipfOf(gift.pool).sample(rng)), gift.mcc];
        const amt = a.approvalMinor !== undefined ? Number(a.approvalMinor) * rng.range(0.7, 0.99) : a.typicalMinor * rng.range(3, 8);
        push(a, mid, mcc, amt, t, "mass_compromise", inc);
        t += rng.exp(5 * MIN);
      }
    }
  }

  out.sort((x, y) => x.intent.atMs - y.intent.atMs);
  return { payments: out, measureFromMs, endMs, agents: agents.length, owners: owner };
}
