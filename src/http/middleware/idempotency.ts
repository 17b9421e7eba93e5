// Idempotency-Key on writes (Stripe's contract): the same key with the same body gets the stored
// response (`Idempotent-Replayed: true`), even while the first request is still running (it waits for
// it: 50 concurrent sends make one effect); the same key with another body is 409 IDEMPOTENCY_CONFLICT.
// Keys are scoped to the caller and the route, kept 24 hours in memory (bounded). Money movements also
// hand the key to the library, whose own idempotency is durable: a retry after a restart moves nothing twice.
// Requests without credentials are not remembered: there is no caller to scope their key to (anyone could
// claim it first), and their bodies are signed intents with a durable idempotency key of their own, where
// a resent intent is a replay (refused), never a way to fetch the stored answer and its token.
import type { Env } from "../env.ts";
import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { apiError } from "../errors.ts";
import type { Principal } from "../principal.ts";

interface Stored { status: number; headers: [string, string][]; body: string }
interface Entry { bodyHash: string; atMs: number; result: Promise<Stored | undefined> }

const KEY_RE = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  /** How long a key is remembered. Default 24 h. */
  ttlMs?: number;
  /** Keys remembered at most (oldest forgotten first). Default 20,000. */
  maxKeys?: number;
}

/** How many failed attempts in a row one request waits out before it runs itself (a bound, not a policy). */
const MAX_WAIT_ROUNDS = 8;

export function idempotency(opts: IdempotencyOptions = {}): MiddlewareHandler<Env> {
  const ttlMs = opts.ttlMs ?? 86_400_000;
  const maxKeys = opts.maxKeys ?? 20_000;
  const entries = new Map<string, Entry>();
  return async (c, next) => {
    const key = c.req.header("idempotency-key");
    const p = c.get("principal");
    if (c.req.method !== "POST" || key === undefined || !p) return next();
    if (!KEY_RE.test(key)) throw apiError("INVALID_INPUT", "Idempotency-Key must be 1-255 printable ASCII characters", { field: "Idempotency-Key" });
    c.set("idempotencyKey", key);
    const scope = `${p.kind}:${p.id}|${c.req.method}|${c.req.path}|${key}`;
    // As text (UTF-8), the form the JSON validator reads next: the body is read and decoded once.
    const bodyHash = createHash("sha256").update(await c.req.text()).digest("base64url");
    // Wait for an attempt in flight with the same key; if it failed in a way worth retrying (5xx, 429),
    // look again: another waiter may have started the retry, and only one may run it.
    for (let rounds = 0; ; rounds++) {
      const prior = entries.get(scope);
      if (!prior || Date.now() - prior.atMs >= ttlMs) break;
      if (prior.bodyHash !== bodyHash) {
        throw apiError("IDEMPOTENCY_CONFLICT", "this Idempotency-Key was used with a different request", { idempotencyKey: key });
      }
      const stored = await prior.result;
      if (stored) {
        c.res = new Response(stored.body, { status: stored.status, headers: [...stored.headers, ["idempotent-replayed", "true"]] });
        return;
      }
      if (entries.get(scope) === prior || rounds >= MAX_WAIT_ROUNDS) break; // nobody took the retry: this one runs
    }
    const now = Date.now();
    let settle!: (s: Stored | undefined) => void;
    const entry: Entry = { bodyHash, atMs: now, result: new Promise((r) => { settle = r; }) };
    entries.delete(scope);
    entries.set(scope, entry);
    while (entries.size > maxKeys) entries.delete(entries.keys().next().value!);
    try {
      await next();
    } catch (e) {
      settle(undefined);
      if (entries.get(scope) === entry) entries.delete(scope);
      throw e;
    }
    const res = c.res;
    if (res.status >= 500 || res.status === 429) {
      settle(undefined);
      if (entries.get(scope) === entry) entries.delete(scope);
      return;
    }
    // What send() or the error handler answered with; anything else is read back from the Response.
    const sent = c.get("responseBody");
    const body = sent !== undefined ? sent : await res.clone().text();
    // A jsonResponse's own plain headers, else read back from the Response (its Headers, lower-case names).
    const own = c.get("sent");
    const headers = own !== undefined && own.res === res ? Object.entries(own.headers) : [...res.headers.entries()];
    settle({ status: res.status, headers: headers.filter(([h]) => h !== "request-id"), body });
  };
}
