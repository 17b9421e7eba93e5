// Hono's TrieRouter with its answers for parameter-free paths remembered. Why: our routes mix a static
// segment and a parameter at one level (`/v1/payments/redeem` beside `/v1/payments/:paymentId/void`),
// which Hono's RegExpRouter refuses, so every request searched the trie and sorted its handlers; the
// busiest routes (payment intents, redemptions, x402) have no parameters, and their answer never changes
// once the app is built.
import type { Result, Router } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";

/** Paths remembered at most: unknown paths (404s) are parameter-free too, and must not grow memory. */
export const MAX_REMEMBERED_PATHS = 512;
/** Longer paths are never remembered (ours are far shorter). */
export const MAX_REMEMBERED_PATH_CHARS = 256;

export class StaticMemoRouter<T> implements Router<T> {
  readonly name = "StaticMemoRouter(TrieRouter)";
  readonly #trie = new TrieRouter<T>();
  readonly #memo = new Map<string, Result<T>>();

  add(method: string, path: string, handler: T): void {
    this.#memo.clear(); // a route added after requests were answered changes what they match
    this.#trie.add(method, path, handler);
  }

  /** How many answers are remembered (for tests and diagnostics). */
  get remembered(): number {
    return this.#memo.size;
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    const known = this.#memo.get(key);
    if (known !== undefined) return known;
    const result = this.#trie.match(method, path);
    // Only answers that carry no parameter values (those depend on nothing but the method and path), and
    // only for short paths. Full: start again, so junk paths sent early cannot keep the busy ones out.
    if (path.length <= MAX_REMEMBERED_PATH_CHARS && result[0].every(([, params]) => isEmpty(params))) {
      if (this.#memo.size >= MAX_REMEMBERED_PATHS) this.#memo.clear();
      this.#memo.set(key, result);
    }
    return result;
  }
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}
