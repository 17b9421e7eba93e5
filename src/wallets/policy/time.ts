import { AgentPayError } from "../../core/index.ts";

/**
 * Wall-clock arithmetic in a wallet's IANA time zone, without dependencies.
 *
 * The UTC offset of a zone is read from Intl (full ICU) and cached per zone for one
 * UTC hour at a time: when the offset at the start and at the end of that hour agree,
 * it holds for the whole hour (no zone changes its offset twice within an hour), so
 * the hot path is arithmetic only. In an hour that contains a transition, every call
 * asks Intl (still exact, just slower).
 */

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";
export const WEEKDAYS: readonly Weekday[] = Object.freeze(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);

/** The calendar windows an instant falls into, in a time zone: `2026-03-08`, `2026-W10` (ISO week, Monday first), `2026-03`. */
export interface WindowIds {
  readonly day: string;
  readonly week: string;
  readonly month: string;
}

/** Local wall-clock facts of an instant. */
export interface LocalTime {
  /** Days since 1970-01-01 of the local calendar date. */
  readonly dayNumber: number;
  /** 0 = Monday … 6 = Sunday. */
  readonly weekday: number;
  /** Minutes since local midnight, 0…1439. */
  readonly minuteOfDay: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Far beyond any payment, and well inside what Date can represent. */
const MAX_MS = 8_640_000_000_000_000 - 2 * DAY_MS;

interface ZoneCache {
  readonly fmt: Intl.DateTimeFormat;
  slot: number;
  slotOffsetMs: number | null; // null: the cached hour holds a transition
  idsDay: number;
  ids: WindowIds | null;
}

const zones = new Map<string, ZoneCache>();

function zone(timeZone: string): ZoneCache {
  const hit = zones.get(timeZone);
  if (hit) return hit;
  if (typeof timeZone !== "string" || timeZone.length === 0 || timeZone.length > 64) {
    throw new AgentPayError("INVALID_INPUT", "time zone must be an IANA name such as Europe/Berlin", { field: "timeZone" });
  }
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23",
      year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
    });
  } catch {
    throw new AgentPayError("INVALID_INPUT", "unknown time zone", { field: "timeZone", timeZone });
  }
  const z: ZoneCache = { fmt, slot: Number.NaN, slotOffsetMs: null, idsDay: Number.NaN, ids: null };
  zones.set(timeZone, z);
  return z;
}

/** Throws INVALID_INPUT unless `timeZone` is an IANA zone this runtime knows; returns its canonical name. */
export function validateTimeZone(timeZone: unknown): string {
  const z = zone(timeZone as string);
  return z.fmt.resolvedOptions().timeZone;
}

function checkMs(atMs: number, field = "atMs"): void {
  if (!Number.isSafeInteger(atMs) || atMs < -MAX_MS || atMs > MAX_MS) {
    throw new AgentPayError("INVALID_INPUT", `${field} must be an integer timestamp in milliseconds`, { field });
  }
}

function intlOffsetMs(z: ZoneCache, atMs: number): number {
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  for (const p of z.fmt.formatToParts(atMs)) {
    switch (p.type) {
      case "year": y = Number(p.value); break;
      case "month": mo = Number(p.value); break;
      case "day": d = Number(p.value); break;
      case "hour": h = Number(p.value); break;
      case "minute": mi = Number(p.value); break;
      case "second": s = Number(p.value); break;
    }
  }
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  return wall - (atMs - mod(atMs, 1000));
}

function mod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/** The zone's UTC offset at `atMs` in milliseconds (local = UTC + offset). */
export function zoneOffsetMs(atMs: number, timeZone: string): number {
  const z = zone(timeZone);
  checkMs(atMs);
  const slot = Math.floor(atMs / HOUR_MS);
  if (slot !== z.slot) {
    const start = slot * HOUR_MS;
    const a = intlOffsetMs(z, start);
    const b = intlOffsetMs(z, start + HOUR_MS - 1);
    z.slot = slot;
    z.slotOffsetMs = a === b ? a : null;
  }
  return z.slotOffsetMs ?? intlOffsetMs(z, atMs);
}

/** Local calendar day, weekday and minute of day of an instant in a time zone. */
export function localTime(atMs: number, timeZone: string): LocalTime {
  const local = atMs + zoneOffsetMs(atMs, timeZone);
  const dayNumber = Math.floor(local / DAY_MS);
  return {
    dayNumber,
    weekday: mod(dayNumber + 3, 7), // 1970-01-01 was a Thursday
    minuteOfDay: Math.floor(mod(local, DAY_MS) / 60_000),
  };
}

/** The day, ISO week and month an instant belongs to, in the wallet's time zone. */
export function windowIds(atMs: number, timeZone: string): WindowIds {
  const z = zone(timeZone);
  const dayNumber = Math.floor((atMs + zoneOffsetMs(atMs, timeZone)) / DAY_MS);
  if (dayNumber === z.idsDay && z.ids) return z.ids;
  const ids = idsForDay(dayNumber);
  z.idsDay = dayNumber;
  z.ids = ids;
  return ids;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

function idsForDay(dayNumber: number): WindowIds {
  const d = new Date(dayNumber * DAY_MS);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const weekday = mod(dayNumber + 3, 7);
  // ISO week: the week (Monday first) belongs to the year of its Thursday.
  const thursday = new Date((dayNumber - weekday + 3) * DAY_MS);
  const wy = thursday.getUTCFullYear();
  const week = Math.floor((dayNumber - weekday + 3 - Date.UTC(wy, 0, 1) / DAY_MS) / 7) + 1;
  return Object.freeze({
    day: `${pad(y, 4)}-${pad(m, 2)}-${pad(d.getUTCDate(), 2)}`,
    week: `${pad(wy, 4)}-W${pad(week, 2)}`,
    month: `${pad(y, 4)}-${pad(m, 2)}`,
  });
}
