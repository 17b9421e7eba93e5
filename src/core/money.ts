import { AgentPayError } from "./errors.ts";

/** A sum of money: integer minor units of one currency or on-chain asset. Never a float. */
export interface Amount {
  readonly minor: bigint;
  readonly currency: string;
}

/** ISO 4217 minor-unit exponents for the currencies agentpay knows out of the box. */
const ISO_4217: Readonly<Record<string, number>> = {
  USD: 2, EUR: 2, GBP: 2, CNY: 2, JPY: 0, CHF: 2, CAD: 2, AUD: 2, NZD: 2, SEK: 2,
  NOK: 2, DKK: 2, PLN: 2, CZK: 2, HUF: 2, INR: 2, SGD: 2, HKD: 2, KRW: 0, MXN: 2,
  BRL: 2, ZAR: 2, TRY: 2, ILS: 2, AED: 2, SAR: 2, BHD: 3, KWD: 3, OMR: 3, JOD: 3,
  TND: 3, CLP: 0, ISK: 0, VND: 0,
};

/** Amounts above this are refused: far beyond any real payment, and it keeps ledger sums in i128. */
export const MAX_AMOUNT_MINOR = (1n << 127n) - 1n;
const MAX_DECIMAL_CHARS = 60;

/**
 * Known currencies and assets. A registry is per AgentPay instance (nothing global),
 * seeded with ISO 4217; on-chain assets are registered with their own decimals.
 */
export class CurrencyRegistry {
  readonly #exponents = new Map<string, number>(Object.entries(ISO_4217));

  /** Registers an on-chain asset (e.g. "USDC" with 6 decimals). Re-registering with other decimals is refused. */
  registerAsset(code: string, decimals: number): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(code)) {
      throw new AgentPayError("INVALID_INPUT", "asset code must be 1-64 letters, digits or . _ : -", { code });
    }
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > 36) {
      throw new AgentPayError("INVALID_INPUT", "asset decimals must be an integer from 0 to 36", { code, decimals });
    }
    const existing = this.#exponents.get(code);
    if (existing !== undefined && existing !== decimals) {
      throw new AgentPayError("INVALID_INPUT", "asset already registered with other decimals", { code, existing, decimals });
    }
    this.#exponents.set(code, decimals);
  }

  has(code: string): boolean {
    return this.#exponents.has(code);
  }

  exponent(code: unknown): number {
    const e = typeof code === "string" ? this.#exponents.get(code) : undefined;
    if (e === undefined) throw new AgentPayError("UNKNOWN_CURRENCY", "unknown currency", { currency: String(code).slice(0, 64) });
    return e;
  }
}

/** The registry used when none is passed: ISO 4217 only. Read-only by convention: register assets on your own. */
export const defaultCurrencies = new CurrencyRegistry();

const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string exactly: `"120.5"` USD → 12050n. More decimals than the
 * currency has is an error, never a rounding. Negative amounts are refused here;
 * direction is expressed by which account is debited.
 */
export function parseAmount(value: unknown, currency: unknown, registry: CurrencyRegistry = defaultCurrencies): Amount {
  const exp = registry.exponent(currency);
  if (typeof value !== "string") {
    throw new AgentPayError("INVALID_AMOUNT", "amount must be a decimal string", { type: typeof value });
  }
  if (value.length === 0 || value.length > MAX_DECIMAL_CHARS) {
    throw new AgentPayError("INVALID_AMOUNT", "amount string is empty or too long", { length: value.length });
  }
  const m = DECIMAL_RE.exec(value);
  if (!m) throw new AgentPayError("INVALID_AMOUNT", "amount must look like 123 or 123.45", { value });
  const whole = m[1]!;
  const frac = m[2] ?? "";
  if (frac.length > exp) {
    throw new AgentPayError("INVALID_AMOUNT", `${String(currency)} has ${exp} decimal places`, { value, currency });
  }
  const minor = BigInt(whole + frac.padEnd(exp, "0"));
  return checkedAmount(minor, currency as string);
}

/** Formats minor units as a decimal string with exactly the currency's decimals: 12050n USD → "120.50". */
export function formatAmount(a: Amount, registry: CurrencyRegistry = defaultCurrencies): string {
  const exp = registry.exponent(a.currency);
  const neg = a.minor < 0n;
  const digits = (neg ? -a.minor : a.minor).toString().padStart(exp + 1, "0");
  const s = exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
  return neg ? `-${s}` : s;
}

/** Builds an amount from a decimal string (`amount("120.50", "USD")`) or exact minor units (`amount(12050n, "USD")`). */
export function amount(value: string | bigint, currency: string, registry: CurrencyRegistry = defaultCurrencies): Amount {
  if (typeof value === "bigint") {
    registry.exponent(currency);
    return checkedAmount(value, currency);
  }
  return parseAmount(value, currency, registry);
}

/** Minor units as a decimal string (the wire form of a bigint): 12050n → "12050". */
export function parseMinor(value: unknown, field = "amount"): bigint {
  if (typeof value === "bigint") return checkedMinor(value, field);
  if (typeof value !== "string" || !/^\d{1,39}$/.test(value)) {
    throw new AgentPayError("INVALID_AMOUNT", `${field} must be a string of digits (minor units)`, { field });
  }
  return checkedMinor(BigInt(value), field);
}

function checkedMinor(v: bigint, field: string): bigint {
  if (v < 0n) throw new AgentPayError("INVALID_AMOUNT", `${field} must not be negative`, { field });
  if (v > MAX_AMOUNT_MINOR) throw new AgentPayError("INVALID_AMOUNT", `${field} is too large`, { field });
  return v;
}

function checkedAmount(minor: bigint, currency: string): Amount {
  checkedMinor(minor, "amount");
  return Object.freeze({ minor, currency });
}

/** Validates an Amount-shaped input from outside (type, range, currency). `positive` refuses zero. */
export function validateAmount(
  a: unknown,
  opts: { positive?: boolean; field?: string; registry?: CurrencyRegistry } = {},
): Amount {
  const field = opts.field ?? "amount";
  if (a === null || typeof a !== "object") {
    throw new AgentPayError("INVALID_AMOUNT", `${field} must be an amount { minor, currency }`, { field });
  }
  const { minor, currency } = a as { minor?: unknown; currency?: unknown };
  if (typeof minor !== "bigint") throw new AgentPayError("INVALID_AMOUNT", `${field}.minor must be a bigint`, { field });
  (opts.registry ?? defaultCurrencies).exponent(currency);
  checkedMinor(minor, field);
  if (opts.positive && minor === 0n) throw new AgentPayError("INVALID_AMOUNT", `${field} must be greater than zero`, { field });
  return Object.freeze({ minor, currency: currency as string });
}

export function sameCurrency(a: Amount, b: Amount): void {
  if (a.currency !== b.currency) {
    throw new AgentPayError("CURRENCY_MISMATCH", "amounts are in different currencies", { a: a.currency, b: b.currency });
  }
}
