// How the console shows money and time: the currency's own formatting (Intl.NumberFormat fed an exact
// decimal string, never a float) and times in the wallet's time zone, in the reader's locale.
import { formatAmount } from "../index.ts";
import type { CurrencyRegistry } from "../index.ts";

const DEFAULT_LOCALE = "en-US";
const MAX_CACHE = 500;
const numberFormats = new Map<string, Intl.NumberFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function cached<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    if (cache.size >= MAX_CACHE) cache.clear();
    v = make();
    cache.set(key, v);
  }
  return v;
}

/** The reader's locale from Accept-Language (first tag Intl accepts), or en-US. */
export function localeOf(acceptLanguage: string | undefined): string {
  if (!acceptLanguage) return DEFAULT_LOCALE;
  for (const part of acceptLanguage.split(",").slice(0, 5)) {
    const tag = part.split(";")[0]!.trim();
    if (!tag || tag === "*" || tag.length > 35) continue;
    try {
      const [canonical] = Intl.getCanonicalLocales(tag);
      if (canonical && Intl.NumberFormat.supportedLocalesOf([canonical]).length > 0) return canonical;
    } catch {
      // not a language tag: try the next one
    }
  }
  return DEFAULT_LOCALE;
}

/**
 * `minor` units of `currency` as the locale writes money: "$1,234.50", "1.234,50 €". Assets Intl
 * does not know (e.g. "USDC") are written as a grouped number followed by the code.
 */
export function formatMoney(minor: bigint, currency: string, locale: string, registry: CurrencyRegistry): string {
  const decimal = formatAmount({ minor, currency }, registry);
  const digits = registry.exponent(currency);
  // Intl.NumberFormat.format takes a decimal string exactly (no float on the way).
  const asString = decimal as unknown as number;
  try {
    const f = cached(numberFormats, `${locale}|${currency}|${digits}`, () => new Intl.NumberFormat(locale, {
      style: "currency", currency, minimumFractionDigits: Math.min(digits, 20), maximumFractionDigits: Math.min(digits, 20),
    }));
    if (digits <= 20) return f.format(asString);
  } catch {
    // not an ISO 4217 code
  }
  const f = cached(numberFormats, `${locale}|plain|${digits}`, () => new Intl.NumberFormat(locale, {
    minimumFractionDigits: Math.min(digits, 20), maximumFractionDigits: Math.min(digits, 20),
  }));
  return `${digits <= 20 ? f.format(asString) : decimal} ${currency}`;
}

/** An instant in `timeZone`: "Dec 4, 2026, 3:05 PM GMT+1". */
export function formatTime(ms: number, timeZone: string, locale: string): string {
  const f = cached(dateFormats, `${locale}|${timeZone}|full`, () => new Intl.DateTimeFormat(locale, {
    timeZone, year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  }));
  return f.format(ms);
}

/** RFC 3339 in UTC, for `<time datetime>`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** "14 min 5 s", "2 h 3 min", "expired". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "expired";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days`;
}
