import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { inspect } from "node:util";
import { AgentPayError, newId } from "../core/index.ts";
import type { Clock } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import { MAX_TOKEN_TTL_MS, MIN_TOKEN_TTL_MS, headerB64Of } from "./format.ts";
import type { ResolvedKey, TokenAlg } from "./format.ts";

/** Engine key prefix of the key ring's records: `tk/<kid>` per key, `tk/active` → { kid }. */
export const TOKEN_KEY_PREFIX = "tk/";
const ACTIVE_KEY = "tk/active";
const KID_PREFIX = "tkey";
const DEFAULT_RETIRE_GRACE_MS = 5 * 60_000;
const MAX_RETIRE_GRACE_MS = 24 * 3_600_000;

/** A public JWK as published in the JWKS. */
export interface TokenPublicJwk {
  readonly kty: "OKP" | "EC";
  readonly crv: "Ed25519" | "P-256";
  readonly x: string;
  readonly y?: string;
  readonly kid: string;
  readonly alg: TokenAlg;
  readonly use: "sig";
}

export interface Jwks {
  readonly keys: readonly TokenPublicJwk[];
}

/** What anyone may know about an issuer key. */
export interface TokenKeyInfo {
  readonly kid: string;
  readonly alg: TokenAlg;
  readonly createdAtMs: number;
  /** When it stopped signing (rotation); absent for the active key. */
  readonly retiredAtMs?: number;
  /**
   * Verifies tokens until then: retiredAtMs + the longest token lifetime the key may have signed
   * (the largest maxTokenTtlMs in force while it was active) + a clock-skew grace.
   */
  readonly retireAfterMs?: number;
  readonly active: boolean;
}

/** The persisted record. Holds the private JWK: it never leaves this module. */
interface TokenKeyRecord {
  readonly kid: string;
  readonly alg: TokenAlg;
  readonly createdAtMs: number;
  readonly retiredAtMs?: number;
  readonly retireAfterMs?: number;
  /** The longest token lifetime this key was ever allowed to sign (raised if the config grows). */
  readonly maxTokenTtlMs?: number;
  readonly publicJwk: { kty: string; crv: string; x: string; y?: string };
  readonly privateJwk: Record<string, string>;
}

interface Entry {
  record: TokenKeyRecord;
  publicKey?: KeyObject;
  privateKey?: KeyObject;
  headerB64?: string;
}

/** What the issuer needs to sign: module-internal (reached through SIGNER, never exported publicly). */
export interface Signer {
  readonly kid: string;
  readonly alg: TokenAlg;
  readonly privateKey: KeyObject;
  readonly headerB64: string;
}

export const SIGNER: unique symbol = Symbol("agentpay.tokens.signer");
export const RESOLVER: unique symbol = Symbol("agentpay.tokens.resolver");

export interface TokenKeyRingOptions {
  /** Algorithm of newly generated keys. Default "EdDSA" (Ed25519). */
  alg?: TokenAlg;
  /** The longest lifetime any token signed by this ring may have (≤ 1 hour). Default 1 hour. */
  maxTokenTtlMs?: number;
  /** Extra time a retired key keeps verifying, for verifiers' clock skew. Default 5 minutes. */
  retireGraceMs?: number;
  /** Defaults to the engine's clock. */
  clock?: Clock;
}

function checkAlg(alg: unknown, field: string): TokenAlg {
  if (alg !== "EdDSA" && alg !== "ES256") {
    throw new AgentPayError("INVALID_INPUT", `${field} must be "EdDSA" or "ES256"`, { field });
  }
  return alg;
}

function checkMs(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new AgentPayError("INVALID_INPUT", `${field} must be an integer number of ms from ${min} to ${max}`, { field });
  }
  return v;
}

function generate(alg: TokenAlg): { publicJwk: TokenKeyRecord["publicJwk"]; privateJwk: Record<string, string> } {
  const { privateKey } = alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const priv = privateKey.export({ format: "jwk" }) as Record<string, string>;
  const publicJwk = alg === "EdDSA"
    ? { kty: "OKP", crv: "Ed25519", x: priv.x! }
    : { kty: "EC", crv: "P-256", x: priv.x!, y: priv.y! };
  return { publicJwk, privateJwk: { ...priv } };
}

function infoOf(r: TokenKeyRecord, activeKid: string | undefined): TokenKeyInfo {
  return Object.freeze({
    kid: r.kid,
    alg: r.alg,
    createdAtMs: r.createdAtMs,
    ...(r.retiredAtMs !== undefined ? { retiredAtMs: r.retiredAtMs } : {}),
    ...(r.retireAfterMs !== undefined ? { retireAfterMs: r.retireAfterMs } : {}),
    active: r.kid === activeKid,
  });
}

/**
 * The issuer's signing keys, persisted through the engine (`tk/` records), rotated, published as
 * a JWKS. Exactly one key signs (the active one); a rotated-out key keeps verifying until every
 * token it could have signed has expired (`retireAfterMs`), then it leaves the JWKS and verifies
 * nothing. Construct it before `engine.load()` (it observes its records), then `await init()`.
 *
 * Private keys live only in the engine records and in this object's private fields: they are
 * never in the JWKS, in errors, in `JSON.stringify(ring)` or in `util.inspect(ring)`. They are
 * stored unencrypted in the engine's store: protect the data directory.
 */
export class TokenKeyRing {
  readonly #engine: Engine;
  readonly #clock: Clock;
  readonly #alg: TokenAlg;
  readonly #maxTokenTtlMs: number;
  readonly #retireGraceMs: number;
  readonly #entries = new Map<string, Entry>();
  #activeKid: string | undefined;
  #ready = false;

  constructor(engine: Engine, opts: TokenKeyRingOptions = {}) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    this.#engine = engine;
    this.#clock = opts.clock ?? engine.clock;
    this.#alg = opts.alg === undefined ? "EdDSA" : checkAlg(opts.alg, "alg");
    this.#maxTokenTtlMs = opts.maxTokenTtlMs === undefined
      ? MAX_TOKEN_TTL_MS
      : checkMs(opts.maxTokenTtlMs, "maxTokenTtlMs", MIN_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS);
    this.#retireGraceMs = opts.retireGraceMs === undefined
      ? DEFAULT_RETIRE_GRACE_MS
      : checkMs(opts.retireGraceMs, "retireGraceMs", 0, MAX_RETIRE_GRACE_MS);
    engine.observe(TOKEN_KEY_PREFIX, (key, _before, after) => this.#observe(key, after));
  }

  #observe(key: string, after: unknown): void {
    if (key === ACTIVE_KEY) {
      this.#activeKid = after === undefined ? undefined : (after as { kid: string }).kid;
      return;
    }
    const kid = key.slice(TOKEN_KEY_PREFIX.length);
    if (after === undefined) this.#entries.delete(kid);
    else this.#entries.set(kid, { record: after as TokenKeyRecord }); // key objects are imported lazily
  }

  get clock(): Clock {
    return this.#clock;
  }

  /** The longest lifetime a token signed by this ring may have. */
  get maxTokenTtlMs(): number {
    return this.#maxTokenTtlMs;
  }

  /** Makes sure a signing key exists (generates and persists the first one). Safe to call again. */
  async init(): Promise<TokenKeyInfo> {
    const info = await this.#init();
    this.#ready = true;
    return info;
  }

  async #init(): Promise<TokenKeyInfo> {
    const current = this.#activeKid !== undefined ? this.#entries.get(this.#activeKid) : undefined;
    if (!current) return this.#install(this.#alg, false);
    const ttl = this.#maxTokenTtlMs;
    if ((current.record.maxTokenTtlMs ?? MAX_TOKEN_TTL_MS) < ttl) {
      // The lifetime cap grew since this key was made: remember it, so that its retirement
      // waits for the longest token it may now sign (even if a later run lowers the cap again).
      return this.#engine.submit((tx) => {
        const r = tx.get<TokenKeyRecord>(TOKEN_KEY_PREFIX + current.record.kid)!;
        const next = { ...r, maxTokenTtlMs: Math.max(r.maxTokenTtlMs ?? MAX_TOKEN_TTL_MS, ttl) };
        tx.put(TOKEN_KEY_PREFIX + r.kid, next);
        return infoOf(next, tx.get<{ kid: string }>(ACTIVE_KEY)?.kid);
      });
    }
    return infoOf(current.record, this.#activeKid);
  }

  /**
   * Rotates: a new key becomes the signer; the old one is retired and keeps verifying until
   * `retireAfterMs` = now + maxTokenTtlMs + retireGraceMs. Returns the new key.
   */
  async rotate(opts: { alg?: TokenAlg } = {}): Promise<TokenKeyInfo> {
    const alg = opts?.alg === undefined ? this.#alg : checkAlg(opts.alg, "alg");
    return this.#install(alg, true);
  }

  async #install(alg: TokenAlg, replace: boolean): Promise<TokenKeyInfo> {
    // Key generation is crypto work: done before the command, never inside it.
    const { publicJwk, privateJwk } = generate(alg);
    const kid = newId(KID_PREFIX);
    const ttl = this.#maxTokenTtlMs;
    const grace = this.#retireGraceMs;
    return this.#engine.submit((tx) => {
      const active = tx.get<{ kid: string }>(ACTIVE_KEY);
      const old = active ? tx.get<TokenKeyRecord>(TOKEN_KEY_PREFIX + active.kid) : undefined;
      if (old && !replace) return infoOf(old, old.kid); // someone initialised first
      if (old && old.retiredAtMs === undefined) {
        const longest = Math.max(old.maxTokenTtlMs ?? MAX_TOKEN_TTL_MS, ttl);
        tx.put(TOKEN_KEY_PREFIX + old.kid, { ...old, retiredAtMs: tx.nowMs, retireAfterMs: tx.nowMs + longest + grace });
      }
      const record: TokenKeyRecord = { kid, alg, createdAtMs: tx.nowMs, maxTokenTtlMs: ttl, publicJwk, privateJwk };
      tx.put(TOKEN_KEY_PREFIX + kid, record);
      tx.put(ACTIVE_KEY, { kid });
      return infoOf(record, kid);
    });
  }

  /** Deletes the records of retired keys past their retireAfterMs. Returns how many. */
  async prune(): Promise<number> {
    return this.#engine.submit((tx) => {
      let n = 0;
      const activeKid = tx.get<{ kid: string }>(ACTIVE_KEY)?.kid;
      for (const kid of [...this.#entries.keys()]) {
        const r = tx.get<TokenKeyRecord>(TOKEN_KEY_PREFIX + kid);
        if (r && kid !== activeKid && r.retireAfterMs !== undefined && r.retireAfterMs <= tx.nowMs) {
          tx.del(TOKEN_KEY_PREFIX + kid);
          n += 1;
        }
      }
      return n;
    });
  }

  /** The key that signs new tokens. */
  active(): TokenKeyInfo {
    const e = this.#activeEntry();
    return infoOf(e.record, this.#activeKid);
  }

  /** Every key still on record (including expired ones not yet pruned): the active one first, then newest first. */
  keys(): TokenKeyInfo[] {
    return this.#sorted().map((e) => infoOf(e.record, this.#activeKid));
  }

  /**
   * The public keys that verify tokens now: the active key and retired keys whose tokens may
   * still be alive. Public members only: kty, crv, x (and y), kid, alg, use "sig".
   */
  jwks(nowMs: number = this.#clock.nowMs()): Jwks {
    const keys: TokenPublicJwk[] = [];
    for (const e of this.#sorted()) {
      if (!this.#usable(e.record, nowMs)) continue;
      const p = e.record.publicJwk;
      keys.push(Object.freeze({
        kty: p.kty as TokenPublicJwk["kty"],
        crv: p.crv as TokenPublicJwk["crv"],
        x: p.x,
        ...(p.y !== undefined ? { y: p.y } : {}),
        kid: e.record.kid,
        alg: e.record.alg,
        use: "sig" as const,
      }));
    }
    return Object.freeze({ keys: Object.freeze(keys) });
  }

  /** Active key first, then newest first; kid breaks ties, so the order never depends on load order. */
  #sorted(): Entry[] {
    const active = this.#activeKid;
    return [...this.#entries.values()].sort((a, b) =>
      Number(b.record.kid === active) - Number(a.record.kid === active)
      || b.record.createdAtMs - a.record.createdAtMs
      || (a.record.kid < b.record.kid ? -1 : a.record.kid > b.record.kid ? 1 : 0));
  }

  #usable(r: TokenKeyRecord, nowMs: number): boolean {
    return r.kid === this.#activeKid || r.retireAfterMs === undefined || nowMs < r.retireAfterMs;
  }

  #activeEntry(): Entry {
    const e = this.#activeKid !== undefined ? this.#entries.get(this.#activeKid) : undefined;
    if (!e) throw new AgentPayError("TOKEN_ISSUER_NOT_READY", "the token key ring has no active key: call init() after engine.load()");
    return e;
  }

  /** @internal The active signing key. */
  [SIGNER](): Signer {
    if (!this.#ready) throw new AgentPayError("TOKEN_ISSUER_NOT_READY", "the token key ring is not initialised: await init() after engine.load()");
    const e = this.#activeEntry();
    if (!e.privateKey) {
      try {
        e.privateKey = createPrivateKey({ key: e.record.privateJwk, format: "jwk" });
      } catch {
        throw new AgentPayError("TOKEN_ISSUER_NOT_READY", "the active token key could not be loaded", { kid: e.record.kid });
      }
    }
    e.headerB64 ??= headerB64Of(e.record.alg, e.record.kid);
    return { kid: e.record.kid, alg: e.record.alg, privateKey: e.privateKey, headerB64: e.headerB64 };
  }

  /** @internal A verification key by kid, if it still verifies at nowMs. */
  [RESOLVER](kid: string, nowMs: number): ResolvedKey | undefined {
    const e = this.#entries.get(kid);
    if (!e || !this.#usable(e.record, nowMs)) return undefined;
    if (!e.publicKey) {
      try {
        e.publicKey = createPublicKey({ key: e.record.publicJwk, format: "jwk" });
      } catch {
        return undefined;
      }
    }
    return { alg: e.record.alg, publicKey: e.publicKey };
  }

  /** A safe summary: kids and dates, never key material. */
  toJSON(): { activeKid: string | undefined; keys: TokenKeyInfo[] } {
    return { activeKid: this.#activeKid, keys: this.keys() };
  }

  [inspect.custom](): string {
    return `TokenKeyRing ${inspect(this.toJSON(), { depth: 3 })}`;
  }
}
