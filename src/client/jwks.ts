// The issuer's public keys as a merchant keeps them: fetched from /.well-known/jwks.json, kept as long
// as the answer's Cache-Control allows (max-age, minus Age; stale-while-revalidate serves the old keys
// while fetching new ones; no-store/no-cache: fetched for each use), refetched once when a token names
// a kid the cached set lacks (key rotation), and kept when the issuer cannot be reached (verifying
// offline is the point). A kid still unknown after a refetch is remembered, so garbage tokens cannot
// make the merchant hammer the issuer.
import { AgentPayError } from "../core/index.ts";
import { TokenVerifier } from "../tokens/index.ts";

export interface FetchedJwks {
  jwks: unknown;
  cacheControl: string | null;
  age: string | null;
}

export interface JwksCacheOptions {
  /** Kept when the answer has no Cache-Control, ms. Default 60,000. */
  defaultMaxAgeMs?: number;
  /** At most one refetch for unknown kids per this many ms. Default 1,000. */
  minUnknownKidRefetchMs?: number;
  nowMs?: () => number;
}

const MAX_REMEMBERED_UNKNOWN = 1_000;
/** No cache lifetime beyond a day, whatever the header says. */
const MAX_AGE_CAP_MS = 86_400_000;

/** The lifetimes a Cache-Control (and Age) header grants, ms. */
export function cacheLifetimes(cacheControl: string | null, age: string | null, defaultMaxAgeMs: number): { freshMs: number; staleMs: number } {
  if (cacheControl === null) return { freshMs: defaultMaxAgeMs, staleMs: 0 };
  const d = new Map<string, string | undefined>();
  for (const part of cacheControl.toLowerCase().split(",")) {
    const [k, v] = part.trim().split("=", 2);
    if (k) d.set(k, v?.replace(/^"|"$/g, ""));
  }
  if (d.has("no-store") || d.has("no-cache")) return { freshMs: 0, staleMs: 0 };
  const seconds = (k: string) => {
    const v = d.get(k);
    return v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) * 1000 : undefined;
  };
  const ageMs = age !== null && /^\d{1,9}$/.test(age) ? Number(age) * 1000 : 0;
  const maxAge = seconds("max-age");
  const freshMs = maxAge === undefined ? defaultMaxAgeMs : Math.min(MAX_AGE_CAP_MS, Math.max(0, maxAge - ageMs));
  return { freshMs, staleMs: Math.min(MAX_AGE_CAP_MS, seconds("stale-while-revalidate") ?? 0) };
}

export class JwksCache {
  readonly #load: () => Promise<FetchedJwks>;
  readonly #defaultMaxAgeMs: number;
  readonly #minUnknownMs: number;
  readonly #now: () => number;
  #verifier: TokenVerifier | undefined;
  #freshUntilMs = 0;
  #staleUntilMs = 0;
  #inflight: Promise<TokenVerifier> | undefined;
  #lastUnknownRefetchMs = -Infinity;
  readonly #unknown = new Map<string, number>();
  /** How many JWKS fetches have finished, well or not (for tests and metrics). */
  fetches = 0;

  constructor(load: () => Promise<FetchedJwks>, opts: JwksCacheOptions = {}) {
    this.#load = load;
    this.#defaultMaxAgeMs = opts.defaultMaxAgeMs ?? 60_000;
    this.#minUnknownMs = opts.minUnknownKidRefetchMs ?? 1_000;
    this.#now = opts.nowMs ?? Date.now;
  }

  /** A verifier whose keys are as fresh as the cache rules ask, and that knows `kid` if the issuer does. */
  async verifierFor(kid: string | undefined): Promise<TokenVerifier> {
    const now = this.#now();
    let verifier = this.#verifier;
    let refetched = false;
    if (!verifier || now >= this.#staleUntilMs) {
      verifier = await this.#refresh();
      refetched = true;
    } else if (now >= this.#freshUntilMs) {
      this.#refresh().catch(() => {}); // stale-while-revalidate: these keys now, new ones for the next token
    }
    if (kid === undefined || verifier.kids.includes(kid) || refetched) return verifier;
    const rememberedUntil = this.#unknown.get(kid);
    if (rememberedUntil !== undefined && now < rememberedUntil) return verifier;
    if (now - this.#lastUnknownRefetchMs < this.#minUnknownMs) return verifier;
    this.#lastUnknownRefetchMs = now;
    verifier = await this.#refresh();
    if (!verifier.kids.includes(kid)) {
      if (this.#unknown.size >= MAX_REMEMBERED_UNKNOWN) this.#unknown.delete(this.#unknown.keys().next().value!);
      this.#unknown.set(kid, Math.max(this.#freshUntilMs, now + this.#minUnknownMs));
    }
    return verifier;
  }

  /** One fetch at a time; when it fails, the keys held so far stay in use (stale-if-error). */
  #refresh(): Promise<TokenVerifier> {
    this.#inflight ??= (async () => {
      try {
        const got = await this.#load();
        const verifier = new TokenVerifier(got.jwks);
        const { freshMs, staleMs } = cacheLifetimes(got.cacheControl, got.age, this.#defaultMaxAgeMs);
        const now = this.#now();
        this.#verifier = verifier;
        this.#freshUntilMs = now + freshMs;
        this.#staleUntilMs = now + freshMs + staleMs;
        this.#unknown.clear();
        return verifier;
      } catch (e) {
        if (this.#verifier) return this.#verifier;
        throw e instanceof AgentPayError ? e : new AgentPayError("CONNECTION_FAILED", "could not fetch the issuer's JWKS", {}, { cause: e });
      } finally {
        this.fetches++;
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }
}

/** The `kid` in a compact JWS's protected header, if it has a readable one. */
export function kidOf(token: unknown): string | undefined {
  if (typeof token !== "string" || token.length > 16_384) return undefined;
  const dot = token.indexOf(".");
  if (dot <= 0 || dot > 4_096) return undefined;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), "base64url").toString("utf8")) as { kid?: unknown };
    return typeof header?.kid === "string" && header.kid.length <= 128 ? header.kid : undefined;
  } catch {
    return undefined;
  }
}
