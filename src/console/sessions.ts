// Console sessions: the cookie carries only a random session id (256 bits); the server keeps the
// session (who signed in, with which key, its CSRF token) in memory, under the id's SHA-256, so the
// table itself holds nothing a cookie could be made from. Bounded (oldest dropped first, and per
// person), and each session ends after an idle time and after an absolute lifetime, whichever
// comes first. The API key itself is never stored: only its id, which is checked on every request
// (a revoked key ends its sessions at once).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../index.ts";

export type ConsolePrincipal =
  | { readonly kind: "person"; readonly ownerId: string; readonly keyId: string }
  /** keyId "env" is a secret given to the server (AGENTPAY_OPERATOR_KEY), not a stored key. */
  | { readonly kind: "operator"; readonly keyId: string };

export interface Session {
  readonly principal: ConsolePrincipal;
  /** The synchronizer token every state change must carry (form field `_csrf` or `X-CSRF-Token`). */
  readonly csrfToken: string;
  readonly createdAtMs: number;
  lastSeenAtMs: number;
}

export interface SessionOptions {
  /** A session unused this long ends. Default 30 minutes. */
  idleMs?: number;
  /** A session ends this long after sign-in, used or not. Default 12 hours. */
  maxAgeMs?: number;
  /** Sessions kept at most (the least recently used goes first). Default 10,000. */
  maxSessions?: number;
  /** Sessions one principal may hold (its least recently used goes first). Default 20. */
  maxPerPrincipal?: number;
}

const ID_RE = /^[A-Za-z0-9_-]{43}$/;
const hash = (s: string): string => createHash("sha256").update(s).digest("base64url");

function positive(v: number | undefined, dflt: number, name: string): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x <= 0) throw new RangeError(`${name} must be a positive integer`);
  return x;
}

export function principalKey(p: ConsolePrincipal): string {
  return p.kind === "person" ? `person:${p.ownerId}:${p.keyId}` : `operator:${p.keyId}`;
}

export class SessionStore {
  readonly #clock: Clock;
  readonly idleMs: number;
  readonly maxAgeMs: number;
  readonly #maxSessions: number;
  readonly #maxPerPrincipal: number;
  /** id hash → session; Map order is recency order (a touched session is re-inserted). */
  readonly #sessions = new Map<string, Session>();
  readonly #byPrincipal = new Map<string, Set<string>>();

  constructor(clock: Clock, opts: SessionOptions = {}) {
    this.#clock = clock;
    this.idleMs = positive(opts.idleMs, 30 * 60_000, "idleMs");
    this.maxAgeMs = positive(opts.maxAgeMs, 12 * 3_600_000, "maxAgeMs");
    this.#maxSessions = positive(opts.maxSessions, 10_000, "maxSessions");
    this.#maxPerPrincipal = positive(opts.maxPerPrincipal, 20, "maxPerPrincipal");
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session; `id` goes in the cookie and nowhere else. */
  create(principal: ConsolePrincipal): { id: string; session: Session } {
    const id = randomBytes(32).toString("base64url");
    const now = this.#clock.nowMs();
    const session: Session = { principal, csrfToken: randomBytes(32).toString("base64url"), createdAtMs: now, lastSeenAtMs: now };
    const h = hash(id);
    const pk = principalKey(principal);
    let mine = this.#byPrincipal.get(pk);
    if (!mine) this.#byPrincipal.set(pk, (mine = new Set()));
    while (mine.size >= this.#maxPerPrincipal) this.#drop(mine.values().next().value!);
    while (this.#sessions.size >= this.#maxSessions) this.#drop(this.#sessions.keys().next().value!);
    this.#sessions.set(h, session);
    mine.add(h);
    return { id, session };
  }

  /** The live session of a cookie value, touched; undefined when unknown, ended or expired (then forgotten). */
  get(id: unknown): Session | undefined {
    if (typeof id !== "string" || !ID_RE.test(id)) return undefined;
    const h = hash(id);
    const s = this.#sessions.get(h);
    if (!s) return undefined;
    const now = this.#clock.nowMs();
    if (now - s.lastSeenAtMs >= this.idleMs || now - s.createdAtMs >= this.maxAgeMs) {
      this.#drop(h);
      return undefined;
    }
    s.lastSeenAtMs = now;
    this.#sessions.delete(h);
    this.#sessions.set(h, s);
    const mine = this.#byPrincipal.get(principalKey(s.principal));
    mine?.delete(h);
    mine?.add(h);
    return s;
  }

  /** Whether the session is still alive, without touching it (live streams check this). */
  alive(id: string, session: Session): boolean {
    const s = this.#sessions.get(hash(id));
    if (s !== session) return false;
    const now = this.#clock.nowMs();
    return now - s.lastSeenAtMs < this.idleMs && now - s.createdAtMs < this.maxAgeMs;
  }

  destroy(id: unknown): void {
    if (typeof id === "string" && ID_RE.test(id)) this.#drop(hash(id));
  }

  /** Drops expired sessions (bounded work per call). */
  sweep(limit = 1_000): number {
    const now = this.#clock.nowMs();
    let n = 0;
    for (const [h, s] of this.#sessions) {
      if (n >= limit) break;
      if (now - s.lastSeenAtMs >= this.idleMs || now - s.createdAtMs >= this.maxAgeMs) {
        this.#drop(h);
        n++;
      }
    }
    return n;
  }

  #drop(h: string): void {
    const s = this.#sessions.get(h);
    if (!s) return;
    this.#sessions.delete(h);
    const pk = principalKey(s.principal);
    const mine = this.#byPrincipal.get(pk);
    mine?.delete(h);
    if (mine?.size === 0) this.#byPrincipal.delete(pk);
  }
}

/** Constant-time comparison of a sent token with the session's. */
export function tokenMatches(sent: unknown, expected: string): boolean {
  if (typeof sent !== "string" || sent.length !== expected.length || sent.length === 0) return false;
  return timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
}
