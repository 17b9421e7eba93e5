import type { RiskEvent, RiskIntent } from "./types.ts";
import { LruMap, Ring } from "./window.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface BreakerOptions {
  /** What an open breaker does to new authorizations. Default "review". */
  action: "review" | "decline";
  /** Global: attempted outflow in the trailing window (minutes, 1-60) vs the hour-of-day baseline. */
  globalWindowMinutes: number;
  /** Trip when the window's outflow (amount or count) exceeds this multiple of what is usual then. */
  globalMultiplier: number;
  /** Floor (minor units) on the usual outflow per window, so a quiet night cannot trip on a handful of payments. */
  globalMinMinor: number;
  /** Floor on the usual number of payments per window. */
  globalMinCount: number;
  /** Hours of traffic observed before the global breaker can trip (a baseline must exist). */
  globalWarmupHours: number;
  /** Per person: attempted outflow in the last hour vs their typical daily outflow. */
  ownerMultiplier: number;
  /** Floor (minor units) on the person's hourly trip threshold. */
  ownerMinMinor: number;
  /** Weight of the newest day / hour in the baselines (EWMA). */
  ewmaAlpha: number;
  maxOwners: number;
}

export const defaultBreakerOptions: BreakerOptions = {
  action: "review",
  globalWindowMinutes: 15,
  globalMultiplier: 3,
  globalMinMinor: 100_000,
  globalMinCount: 20,
  globalWarmupHours: 24,
  ownerMultiplier: 8,
  ownerMinMinor: 300_000,
  ewmaAlpha: 0.25,
  maxOwners: 50_000,
};

export interface BreakerTrip {
  scope: "global" | "owner";
  key: string;
  trippedAtMs: number;
  ratio: number;
  reason: string;
}

export interface BreakerStatus {
  action: "review" | "decline";
  global: BreakerTrip[];
  owners: BreakerTrip[];
}

export class OwnerFlow {
  r1h = new Ring(5 * MIN, 12, 1);   // attempted amount
  dayIdx = -1;
  dayAcc = 0;
  dailyEwma = 0;
  days = 0;
  trip: BreakerTrip | null = null;
}

export class GlobalFlow {
  rW: Ring;                         // attempted amount, count
  hourIdx = -1;
  accSum = 0;
  accCnt = 0;
  baseSum = new Float64Array(24);   // committed outflow per hour of day (EWMA over days)
  baseCnt = new Float64Array(24);
  seen = new Float64Array(24);
  hoursObserved = 0;
  firstHourPartial = true;
  trip: BreakerTrip | null = null;
  constructor(windowMinutes: number) {
    this.rW = new Ring(MIN, windowMinutes, 2);
  }
}

export interface BreakerCheck {
  ownerAmount1h: number;
  ownerRatio: number;
  globalRatio: number;
  /** A reason code if the breaker is open or this payment would trip it; "" otherwise. */
  code: string;
  message: string;
}

/** A person's flow is tracked per currency: amounts in different currencies never add up. */
const ownerKey = (ownerId: string, currency: string): string => `${ownerId}\u0000${currency}`;

/** The drain circuit breaker: outflow per person and across all wallets (per currency) against a recent baseline. */
export class Breaker {
  readonly opts: BreakerOptions;
  owners: LruMap<string, OwnerFlow>;
  globals = new Map<string, GlobalFlow>();
  /** Last attempt per sub-wallet: the global signal counts each sub-wallet once per window. */
  lastAttempt: LruMap<string, number>;

  constructor(opts: Partial<BreakerOptions> = {}) {
    this.opts = { ...defaultBreakerOptions, ...opts };
    this.owners = new LruMap(this.opts.maxOwners);
    this.lastAttempt = new LruMap(this.opts.maxOwners * 4);
  }

  #firstInWindow(subWalletId: string, t: number): boolean {
    const last = this.lastAttempt.peek(subWalletId);
    return last === undefined || t - last >= this.opts.globalWindowMinutes * MIN;
  }

  #ownerThreshold(o: OwnerFlow | undefined): number {
    const daily = o === undefined ? 0 : o.dailyEwma;
    return Math.max(this.opts.ownerMultiplier * daily, this.opts.ownerMinMinor);
  }

  #globalRatio(g: GlobalFlow | undefined, t: number, addSum: number, addCnt: number): number {
    if (g === undefined || g.hoursObserved < this.opts.globalWarmupHours) return 0;
    const h = Math.floor((t % DAY) / HOUR);
    const hp = (h + 23) % 24;
    if (g.seen[h] === 0 || g.seen[hp] === 0) return 0;
    const frac = this.opts.globalWindowMinutes / 60;
    const expSum = Math.max(g.baseSum[h]!, g.baseSum[hp]!) * frac;
    const expCnt = Math.max(g.baseCnt[h]!, g.baseCnt[hp]!) * frac;
    const thrSum = this.opts.globalMultiplier * Math.max(expSum, this.opts.globalMinMinor);
    const thrCnt = this.opts.globalMultiplier * Math.max(expCnt, this.opts.globalMinCount);
    return Math.max((g.rW.read(t, 0) + addSum) / thrSum, (g.rW.read(t, 1) + addCnt) / thrCnt);
  }

  /** Reads only: is the breaker open for this intent, or would this payment trip it? */
  check(intent: RiskIntent, amt: number): BreakerCheck {
    const t = intent.atMs;
    const o = this.owners.peek(ownerKey(intent.ownerId, intent.currency));
    const ownerAmount1h = o === undefined ? 0 : o.r1h.read(t, 0);
    const ownerRatio = (ownerAmount1h + amt) / this.#ownerThreshold(o);
    const g = this.globals.get(intent.currency);
    const first = this.#firstInWindow(intent.subWalletId, t);
    const globalRatio = this.#globalRatio(g, t, first ? amt : 0, first ? 1 : 0);
    let code = "", message = "";
    if (g?.trip) {
      code = "DRAIN_BREAKER_OPEN";
      message = `The drain circuit breaker is open for ${intent.currency}: outflow across wallets jumped to ${g.trip.ratio.toFixed(1)}x its trip level; an operator must reset it`;
    } else if (o?.trip) {
      code = "OWNER_DRAIN_OPEN";
      message = "The drain circuit breaker is open for this person's wallets: their outflow jumped far above their usual; an operator must reset it";
    } else if (globalRatio >= 1) {
      code = "DRAIN_BREAKER_TRIP";
      message = `This payment takes outflow across all wallets in the last ${this.opts.globalWindowMinutes} minutes to ${globalRatio.toFixed(1)}x the trip level (a sudden jump over the usual for this hour)`;
    } else if (ownerRatio >= 1) {
      code = "OWNER_DRAIN_TRIP";
      message = `This payment takes the person's outflow in the last hour to ${ownerRatio.toFixed(1)}x the trip level (far above their usual daily outflow)`;
    }
    return { ownerAmount1h, ownerRatio, globalRatio, code, message };
  }

  record(e: RiskEvent, amt: number): void {
    const t = e.atMs;
    const attempt = e.kind === "authorized" || e.kind === "declined" || e.kind === "failed";
    if (!attempt) return;
    let o = this.owners.touch(ownerKey(e.ownerId, e.currency));
    if (o === undefined) {
      o = new OwnerFlow();
      this.owners.set(ownerKey(e.ownerId, e.currency), o);
    }
    let g = this.globals.get(e.currency);
    if (g === undefined) {
      g = new GlobalFlow(this.opts.globalWindowMinutes);
      this.globals.set(e.currency, g);
    }
    this.#rollHours(g, t);
    this.#rollDays(o, t);
    // The person's baseline learns from committed outflow (what is actually paid is "normal"); their
    // window measures demand (every attempt), so a blocked flood still shows.
    if (e.kind === "authorized") o.dayAcc += amt;
    // Globally, "many sub-wallets suddenly spending": each sub-wallet counts once per window (its
    // first attempt), so one agent looping cannot trip it; baseline and window use the same measure.
    const first = this.#firstInWindow(e.subWalletId, t);
    this.lastAttempt.set(e.subWalletId, t);
    const ownerBefore = this.#ownerThreshold(o);
    const globalRatio = first ? this.#globalRatio(g, t, amt, 1) : 0;
    o.r1h.add(t, 0, amt);
    if (first) {
      g.accSum += amt;
      g.accCnt += 1;
      g.rW.add(t, 0, amt);
      g.rW.add(t, 1, 1);
    }
    const ownerRatio = o.r1h.read(t, 0) / ownerBefore;
    if (g.trip === null && globalRatio >= 1) {
      g.trip = { scope: "global", key: e.currency, trippedAtMs: t, ratio: globalRatio,
        reason: "outflow across wallets far above the usual for this hour" };
    }
    if (o.trip === null && ownerRatio >= 1) {
      o.trip = { scope: "owner", key: e.ownerId, trippedAtMs: t, ratio: ownerRatio,
        reason: "the person's hourly outflow far above their usual daily outflow" };
    }
  }

  #rollHours(g: GlobalFlow, t: number): void {
    const hour = Math.floor(t / HOUR);
    if (g.hourIdx < 0) {
      g.hourIdx = hour;
      return;
    }
    if (hour <= g.hourIdx) return;
    const alpha = this.opts.ewmaAlpha;
    const steps = Math.min(hour - g.hourIdx, 48);
    for (let k = 0; k < steps; k++) {
      const slot = (g.hourIdx + k) % 24;
      const sum = k === 0 ? g.accSum : 0;
      const cnt = k === 0 ? g.accCnt : 0;
      // the very first hour observed is partial: it does not count as an observation
      if (k === 0 && g.firstHourPartial) {
        g.firstHourPartial = false;
        continue;
      }
      if (g.seen[slot] === 0) {
        g.baseSum[slot] = sum;
        g.baseCnt[slot] = cnt;
      } else {
        // winsorised: one extraordinary hour (an attack) cannot teach the baseline that it is normal
        const s = Math.min(sum, 2 * g.baseSum[slot]! + this.opts.globalMinMinor);
        const c = Math.min(cnt, 2 * g.baseCnt[slot]! + this.opts.globalMinCount);
        g.baseSum[slot] = alpha * s + (1 - alpha) * g.baseSum[slot]!;
        g.baseCnt[slot] = alpha * c + (1 - alpha) * g.baseCnt[slot]!;
      }
      g.seen[slot]! += 1;
      g.hoursObserved++;
    }
    g.accSum = 0;
    g.accCnt = 0;
    g.hourIdx = hour;
  }

  #rollDays(o: OwnerFlow, t: number): void {
    const day = Math.floor(t / DAY);
    if (o.dayIdx < 0) {
      o.dayIdx = day;
      return;
    }
    if (day <= o.dayIdx) return;
    const alpha = this.opts.ewmaAlpha;
    o.dailyEwma = o.days === 0 ? o.dayAcc : alpha * o.dayAcc + (1 - alpha) * o.dailyEwma;
    o.days++;
    const gap = Math.min(day - o.dayIdx - 1, 60);
    if (gap > 0) o.dailyEwma *= Math.pow(1 - alpha, gap);
    o.dayAcc = 0;
    o.dayIdx = day;
  }

  status(): BreakerStatus {
    const global: BreakerTrip[] = [];
    for (const g of this.globals.values()) if (g.trip) global.push({ ...g.trip });
    const owners: BreakerTrip[] = [];
    for (const o of this.owners.map.values()) if (o.trip) owners.push({ ...o.trip });
    return { action: this.opts.action, global, owners };
  }

  /**
   * Closes the breaker. Without an argument: every global and per-person trip. With an owner id:
   * that person's only. The trailing windows are cleared so the same spike does not re-trip at once.
   */
  reset(ownerId?: string): void {
    if (ownerId !== undefined) {
      for (const [k, o] of this.owners.map) {
        if (!k.startsWith(`${ownerId}\u0000`)) continue;
        o.trip = null;
        o.r1h = new Ring(5 * MIN, 12, 1);
      }
      return;
    }
    for (const g of this.globals.values()) {
      g.trip = null;
      g.rW = new Ring(MIN, this.opts.globalWindowMinutes, 2);
    }
    for (const o of this.owners.map.values()) {
      if (o.trip) {
        o.trip = null;
        o.r1h = new Ring(5 * MIN, 12, 1);
      }
    }
  }
}
