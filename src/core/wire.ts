// The wire form of every library result: what JSON.stringify can carry and any language can read.
// One rule set, used by the HTTP API, the CLI's --json and MCP, and by consumers who log or queue
// results (a bigint makes JSON.stringify throw):
//   - an Amount `{ minor, currency }`            → `{ "value": "12.50", "currency": "USD" }`
//   - `fooMinor` (bigint minor units)             → `foo: { "value", "currency" }`, in the currency of its
//                                                   object or of the nearest enclosing one that has one
//   - `fooAtMs` / `atMs` (epoch milliseconds)    → `fooAt` / `at`: an RFC 3339 UTC string
//   - any other bigint                           → a decimal string
//   - Uint8Array                                 → base64url; Map → object; Set → array
// An amount in a currency the registry does not know the decimals of is `{ "minor": "1200", "currency" }`.
// Keys keep their order; nothing else changes. Durations (`ttlMs`) stay numbers.
import { AgentPayError } from "./errors.ts";
import { defaultCurrencies, formatAmount } from "./money.ts";
import type { CurrencyRegistry } from "./money.ts";

const MAX_DEPTH = 32;

function isAmount(v: Record<string, unknown>): boolean {
  return typeof v.minor === "bigint" && typeof v.currency === "string" && Object.keys(v).length === 2;
}

function money(minor: bigint, currency: string, registry: CurrencyRegistry): { value: string; currency: string } | { minor: string; currency: string } {
  // An asset this registry does not know the decimals of: minor units, named so nobody reads them as a decimal.
  if (!registry.has(currency)) return { minor: minor.toString(), currency };
  return { value: formatAmount({ minor, currency }, registry), currency };
}

function iso(ms: number): string | number {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : ms;
}

/** The wire form of `value` (see the rules above). `registry` knows the currencies' decimals. */
export function toWire(value: unknown, registry: CurrencyRegistry = defaultCurrencies): unknown {
  return wire(value, registry, 0, undefined);
}

function wire(v: unknown, registry: CurrencyRegistry, depth: number, outer: string | undefined): unknown {
  if (depth > MAX_DEPTH) throw new AgentPayError("INVALID_INPUT", "value nested too deeply for its wire form");
  if (typeof v === "bigint") return v.toString();
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64url");
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => wire(x, registry, depth + 1, outer));
  if (v instanceof Set) return [...v].map((x) => wire(x, registry, depth + 1, outer));
  if (v instanceof Map) return wire(Object.fromEntries(v), registry, depth, outer);
  if (v instanceof AgentPayError) return wire(v.toJSON(), registry, depth, undefined);
  const o = v as Record<string, unknown>;
  if (isAmount(o)) return money(o.minor as bigint, o.currency as string, registry);
  const currency = typeof o.currency === "string" ? o.currency : outer;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) {
    if (x === undefined) continue;
    if (k.endsWith("Minor") && k.length > 5 && typeof x === "bigint" && currency !== undefined) {
      out[k.slice(0, -5)] = money(x, currency, registry);
    } else if ((k.endsWith("AtMs") || k === "atMs") && typeof x === "number") {
      out[`${k.slice(0, -4)}${k === "atMs" ? "at" : "At"}`] = iso(x);
    } else {
      out[k] = wire(x, registry, depth + 1, currency);
    }
  }
  return out;
}
