// The way back from the wire: `fromWire` undoes the server's `toWire` (src/core/wire.ts), so an HTTP
// client hands out the library's own records (bigint minor units, epoch milliseconds) and code moves
// between `pay.agentClient(...)` in-process and `AgentPayClient` over HTTP unchanged:
//   - `foo: { value: "12.50", currency }` → `fooMinor: 1250n` when the currency is the object's own (or the
//     nearest enclosing one's), as the library stores amounts; otherwise the Amount `foo: { minor, currency }`
//   - `foo: { minor: "1200", currency }` (a currency the server knows no decimals of) → the same, exactly
//   - `fooAt` / `at`: an RFC 3339 UTC string → `fooAtMs` / `atMs`, epoch milliseconds
// Decimals come from the client's CurrencyRegistry, or else from the string itself: the server always
// writes exactly the currency's decimals, so "12.50" is 1250 minor units whatever the currency.
import { AgentPayError, CurrencyRegistry, formatAmount, parseAmount } from "../core/index.ts";
import type { Amount } from "../core/index.ts";

const MAX_DEPTH = 32;
const DECIMAL_RE = /^-?\d{1,78}(\.\d{1,36})?$/;
const MINOR_RE = /^-?\d{1,80}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** A page of a list: `nextCursor` is what `startingAfter` takes for the next one. */
export interface Page<T> {
  readonly data: T[];
  readonly hasMore: boolean;
  readonly nextCursor?: string;
}

/** Query of every list: at most `limit` items (1-100) after the cursor `startingAfter`. */
export interface PageQuery {
  limit?: number;
  startingAfter?: string;
}

/**
 * Decimals of the currencies a client reads and writes: ISO 4217 and what the caller registered; without
 * a registry of the caller's, also the assets the server's own answers reveal (its "12.500000" USDC says 6).
 */
export class Decimals {
  readonly registry: CurrencyRegistry;
  readonly #learns: boolean;

  constructor(registry: CurrencyRegistry | undefined) {
    this.#learns = registry === undefined;
    this.registry = registry ?? new CurrencyRegistry();
  }

  /** `{ value, currency }` for a request. Refuses a currency of unknown decimals (UNKNOWN_CURRENCY). */
  toWire(a: Amount, field = "amount"): { value: string; currency: string } {
    if (a === null || typeof a !== "object" || typeof a.minor !== "bigint" || typeof a.currency !== "string") {
      throw new AgentPayError("INVALID_AMOUNT", `${field} must be an Amount { minor: bigint, currency }`, { field });
    }
    return { value: formatAmount(a, this.registry), currency: a.currency };
  }

  /** An Amount from the server's `{ value, currency }` or `{ minor, currency }`. */
  fromWire(m: { value?: unknown; minor?: unknown; currency: string }): Amount {
    if (typeof m.minor === "string") {
      if (!MINOR_RE.test(m.minor)) throw invalid("an amount's minor units are not an integer");
      return { minor: BigInt(m.minor), currency: m.currency };
    }
    const value = m.value;
    if (typeof value !== "string" || !DECIMAL_RE.test(value)) throw invalid("an amount is not a decimal string");
    if (this.registry.has(m.currency)) return parseAmount(value, m.currency, this.registry);
    if (this.#learns) {
      try {
        this.registry.registerAsset(m.currency, (value.split(".")[1] ?? "").length);
      } catch {
        // not a code the registry takes: read this amount, learn nothing
      }
    }
    return { minor: BigInt(value.replace(".", "")), currency: m.currency };
  }
}

function invalid(message: string): AgentPayError {
  return new AgentPayError("RESPONSE_INVALID", `the server's answer is not the API's: ${message}`);
}

function moneyShape(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v);
  return keys.length === 2 && typeof v.currency === "string" && (typeof v.value === "string" || typeof v.minor === "string");
}

/** The library form of a wire value (see the rules at the top of this file). */
export function fromWire<T>(value: unknown, decimals: Decimals): T {
  return back(value, decimals, 0, undefined) as T;
}

function back(v: unknown, d: Decimals, depth: number, outer: string | undefined): unknown {
  if (depth > MAX_DEPTH) throw invalid("nested too deeply");
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => back(x, d, depth + 1, outer));
  const o = v as Record<string, unknown>;
  if (moneyShape(o)) return d.fromWire(o as { currency: string });
  const currency = typeof o.currency === "string" ? o.currency : outer;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) {
    if (x !== null && typeof x === "object" && !Array.isArray(x) && moneyShape(x as Record<string, unknown>)) {
      const a = d.fromWire(x as { currency: string });
      if (a.currency === currency) out[`${k}Minor`] = a.minor;
      else out[k] = a;
    } else if ((k === "at" || (k.endsWith("At") && k.length > 2)) && typeof x === "string" && ISO_RE.test(x)) {
      out[`${k}Ms`] = Date.parse(x);
    } else {
      out[k] = back(x, d, depth + 1, currency);
    }
  }
  return out;
}

/** A wire list `{ object: "list", data, hasMore, nextCursor? }` as a Page of library records. */
export function pageFromWire<T>(list: { data: unknown[]; hasMore: boolean; nextCursor?: string | undefined }, d: Decimals): Page<T> {
  return { data: list.data.map((x) => fromWire<T>(x, d)), hasMore: list.hasMore, ...(list.nextCursor !== undefined ? { nextCursor: list.nextCursor } : {}) };
}

/** The wire query of a PageQuery. */
export function pageQuery(q: PageQuery | undefined): { limit?: number; starting_after?: string } {
  if (q === undefined) return {};
  if (q === null || typeof q !== "object") throw new AgentPayError("INVALID_INPUT", "the query must be an object");
  return { ...(q.limit !== undefined ? { limit: q.limit } : {}), ...(q.startingAfter !== undefined ? { starting_after: q.startingAfter } : {}) };
}
