import { AgentPayError, isId, newId, parseDurationMs, validateId, expectObject } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import { getAgent } from "./registry.ts";
import { GRANT_PREFIX, GRANT_SCOPES, agentKey, grantKey, grantPairKey } from "./types.ts";
import type { Agent, Grant, GrantMode, GrantPairIndex, GrantScope } from "./types.ts";

const DEFAULT_SESSION_TTL_MS = 24 * 3_600_000;
const DEFAULT_MAX_GRANTS_PER_PAIR = 32;
const MAX_USES = 1_000_000_000;
const MAX_LIST = 10_000;

export interface GrantQuery {
  /** A specific grant; without it the best active grant of the agent over the sub-wallet is used. */
  grantId?: string;
  agentId: string;
  subWalletId: string;
  scope: GrantScope;
}

export interface CreateGrantInput {
  subWalletId: string;
  agentId: string;
  scopes: readonly GrantScope[];
  mode: GrantMode;
  /** Lifetime from now: "24h", "15m". */
  expiresIn?: string;
  expiresAtMs?: number;
  maxUses?: number;
}

/** Validated grant parameters, computed outside the engine; times are resolved in the command. */
interface GrantSpec {
  subWalletId: string;
  agentId: string;
  scopes: GrantScope[];
  mode: GrantMode;
  expiresInMs?: number;
  expiresAtMs?: number;
  maxUses?: number;
}

type GrantFailure = "GRANT_REVOKED" | "GRANT_EXPIRED" | "GRANT_EXHAUSTED" | "GRANT_SCOPE_MISSING";
const FAILURE_RANK: Record<GrantFailure, number> = {
  GRANT_REVOKED: 0, GRANT_EXPIRED: 1, GRANT_EXHAUSTED: 2, GRANT_SCOPE_MISSING: 3,
};
const FAILURE_MESSAGE: Record<GrantFailure, string> = {
  GRANT_REVOKED: "the grant was revoked",
  GRANT_EXPIRED: "the grant has expired",
  GRANT_EXHAUSTED: "the grant has no uses left",
  GRANT_SCOPE_MISSING: "the grant does not allow this",
};

/* ---------------------------------------------------------------- pure functions over a Tx */

/** Why a grant cannot be used at `nowMs` (for `scope`, if given), or undefined when it can. */
export function grantProblem(g: Grant, nowMs: number, scope?: GrantScope): GrantFailure | undefined {
  if (g.status === "revoked") return "GRANT_REVOKED";
  if (g.expiresAtMs !== undefined && nowMs >= g.expiresAtMs) return "GRANT_EXPIRED";
  if (g.maxUses !== undefined && g.uses >= g.maxUses) return "GRANT_EXHAUSTED";
  if (scope !== undefined && !g.scopes.includes(scope)) return "GRANT_SCOPE_MISSING";
  return undefined;
}

function fail(code: GrantFailure, g: Grant, scope?: GrantScope): AgentPayError {
  return new AgentPayError(code, FAILURE_MESSAGE[code], {
    grantId: g.id, agentId: g.agentId, subWalletId: g.subWalletId, ...(code === "GRANT_SCOPE_MISSING" ? { scope } : {}),
  });
}

function notFound(q: { agentId: string; subWalletId: string; grantId?: string }): AgentPayError {
  return new AgentPayError("GRANT_NOT_FOUND", "no grant gives this agent this sub-wallet", {
    agentId: q.agentId, subWalletId: q.subWalletId, ...(q.grantId !== undefined ? { grantId: q.grantId } : {}),
  });
}

/**
 * Finds the grant that lets `agentId` act on `subWalletId` with `scope`, at `tx.nowMs`.
 * Call it INSIDE the command that acts (the payment), so a revocation queued before that
 * command wins. Throws AGENT_DISABLED, GRANT_NOT_FOUND, GRANT_REVOKED, GRANT_EXPIRED,
 * GRANT_EXHAUSTED or GRANT_SCOPE_MISSING. Without `grantId`, picks among the pair's usable
 * grants the one expiring soonest; if none is usable, reports the most specific reason.
 */
export function checkGrant(tx: Tx, q: GrantQuery): Grant {
  const agent = tx.get<Agent>(agentKey(q.agentId));
  if (!agent) throw notFound(q);
  if (agent.status !== "active") throw new AgentPayError("AGENT_DISABLED", "the agent is disabled", { agentId: q.agentId });
  if (q.grantId !== undefined) {
    const g = tx.get<Grant>(grantKey(q.grantId));
    if (!g || g.agentId !== q.agentId || g.subWalletId !== q.subWalletId) throw notFound(q);
    const problem = grantProblem(g, tx.nowMs, q.scope);
    if (problem) throw fail(problem, g, q.scope);
    return g;
  }
  const ix = tx.get<GrantPairIndex>(grantPairKey(q.agentId, q.subWalletId));
  let best: Grant | undefined;
  let worst: { code: GrantFailure; g: Grant } | undefined;
  for (const id of ix?.grantIds ?? []) {
    const g = tx.get<Grant>(grantKey(id));
    if (!g) continue;
    const problem = grantProblem(g, tx.nowMs, q.scope);
    if (problem) {
      if (!worst || FAILURE_RANK[problem] > FAILURE_RANK[worst.code]) worst = { code: problem, g };
      continue;
    }
    const exp = g.expiresAtMs ?? Infinity;
    const bestExp = best?.expiresAtMs ?? Infinity;
    if (!best || exp < bestExp || (exp === bestExp && g.createdAtMs < best.createdAtMs)) best = g;
  }
  if (best) return best;
  if (worst) throw fail(worst.code, worst.g, q.scope);
  throw notFound(q);
}

/** Counts one use of a grant (same command as `checkGrant`). Returns the updated grant. */
export function useGrant(tx: Tx, grant: Grant): Grant {
  const g = tx.get<Grant>(grantKey(grant.id));
  if (!g) throw notFound(grant);
  const problem = grantProblem(g, tx.nowMs);
  if (problem) throw fail(problem, g);
  const next: Grant = { ...g, uses: g.uses + 1, lastUsedAtMs: tx.nowMs };
  tx.put(grantKey(g.id), next);
  return next;
}

/** Revokes a grant (idempotent). Pure over the Tx. */
export function revokeGrant(tx: Tx, grantId: string): Grant {
  const g = tx.get<Grant>(grantKey(grantId));
  if (!g) throw new AgentPayError("GRANT_NOT_FOUND", "no such grant", { grantId });
  if (g.status === "revoked") return g;
  const next: Grant = { ...g, status: "revoked", revokedAtMs: tx.nowMs };
  tx.put(grantKey(grantId), next);
  return next;
}

function createGrantCmd(
  tx: Tx, spec: GrantSpec, maxPerPair: number, subWalletExists: ((tx: Tx, id: string) => boolean) | undefined,
): Grant {
  const agent = getAgent(tx, spec.agentId);
  if (agent.status !== "active") throw new AgentPayError("AGENT_DISABLED", "the agent is disabled", { agentId: agent.id });
  if (subWalletExists && !subWalletExists(tx, spec.subWalletId)) {
    throw new AgentPayError("INVALID_INPUT", "no such sub-wallet", { field: "subWalletId", subWalletId: spec.subWalletId });
  }
  const expiresAtMs = spec.expiresInMs !== undefined ? tx.nowMs + spec.expiresInMs : spec.expiresAtMs;
  if (expiresAtMs !== undefined && expiresAtMs <= tx.nowMs) {
    throw new AgentPayError("INVALID_INPUT", "the grant would already be expired", { field: "expiresAtMs" });
  }
  // Keep the pair index bounded: forget grants that can never be used again, oldest first.
  const pairKey = grantPairKey(spec.agentId, spec.subWalletId);
  let ids = [...(tx.get<GrantPairIndex>(pairKey)?.grantIds ?? [])];
  if (ids.length >= maxPerPair) {
    ids = ids.filter((id) => {
      const g = tx.get<Grant>(grantKey(id));
      return g !== undefined && grantProblem(g, tx.nowMs) === undefined;
    });
    if (ids.length >= maxPerPair) {
      throw new AgentPayError("GRANT_LIMIT_REACHED", "this agent has too many live grants on this sub-wallet", { maxPerPair });
    }
  }
  const grant: Grant = {
    id: newId("gnt"), subWalletId: spec.subWalletId, agentId: spec.agentId, scopes: spec.scopes, mode: spec.mode,
    status: "active", createdAtMs: tx.nowMs, uses: 0,
    ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
    ...(spec.maxUses !== undefined ? { maxUses: spec.maxUses } : {}),
  };
  ids.push(grant.id);
  tx.put(grantKey(grant.id), grant);
  tx.put(pairKey, { grantIds: ids } satisfies GrantPairIndex);
  return grant;
}

/* ---------------------------------------------------------------- the service */

export interface GrantsOptions {
  /** Lifetime of a session grant created without an expiry. Default 24 h. */
  sessionTtlMs?: number;
  /** Grants kept per agent × sub-wallet (dead ones are forgotten first). Default 32. */
  maxGrantsPerPair?: number;
  /** Checked inside the create command (wired by the facade to the wallets module). */
  subWalletExists?: (tx: Tx, subWalletId: string) => boolean;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function validateSubWalletId(v: unknown): string {
  if (!isId(v)) throw new AgentPayError("INVALID_ID", "subWalletId must be an id", { field: "subWalletId" });
  return v;
}

/**
 * Grants: a person's delegation of a sub-wallet to an agent. Construct before
 * `engine.load()` (it keeps an in-memory view for listing and expiry queries).
 */
export class Grants {
  readonly #engine: Engine;
  readonly #sessionTtlMs: number;
  readonly #maxPerPair: number;
  readonly #subWalletExists: ((tx: Tx, id: string) => boolean) | undefined;
  readonly #all = new Map<string, Grant>();

  constructor(engine: Engine, opts: GrantsOptions = {}) {
    this.#engine = engine;
    this.#sessionTtlMs = opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#maxPerPair = opts.maxGrantsPerPair ?? DEFAULT_MAX_GRANTS_PER_PAIR;
    this.#subWalletExists = opts.subWalletExists;
    if (!Number.isSafeInteger(this.#sessionTtlMs) || this.#sessionTtlMs <= 0) throw new AgentPayError("INVALID_INPUT", "sessionTtlMs must be positive");
    if (!Number.isSafeInteger(this.#maxPerPair) || this.#maxPerPair <= 0) throw new AgentPayError("INVALID_INPUT", "maxGrantsPerPair must be positive");
    engine.observe(GRANT_PREFIX, (key, _before, after) => {
      const id = key.slice(GRANT_PREFIX.length);
      if (after === undefined) this.#all.delete(id);
      else this.#all.set(id, after as Grant);
    });
  }

  async create(input: CreateGrantInput): Promise<Grant> {
    const spec = this.#validate(input);
    return clone(await this.#engine.submit((tx) => createGrantCmd(tx, spec, this.#maxPerPair, this.#subWalletExists)));
  }

  /** Revokes at once: any command queued after this one sees the grant revoked. Idempotent. */
  async revoke(grantId: string): Promise<Grant> {
    validateId(grantId, "gnt", "grantId");
    return clone(await this.#engine.submit((tx) => revokeGrant(tx, grantId)));
  }

  get(grantId: string): Grant {
    validateId(grantId, "gnt", "grantId");
    const g = this.#engine.read<Grant>(grantKey(grantId));
    if (!g) throw new AgentPayError("GRANT_NOT_FOUND", "no such grant", { grantId });
    return clone(g);
  }

  /** Grants (any status), oldest first, filtered by agent and/or sub-wallet. */
  list(filter: { agentId?: string; subWalletId?: string; activeOnly?: boolean; limit?: number } = {}): Grant[] {
    expectObject<GrantQuery & { activeOnly?: boolean; limit?: number }>(filter, ["agentId", "subWalletId", "activeOnly", "limit"], "grant filter");
    if (filter.agentId !== undefined) validateId(filter.agentId, "agt", "agentId");
    if (filter.subWalletId !== undefined) validateSubWalletId(filter.subWalletId);
    const limit = checkLimit(filter.limit);
    const nowMs = this.#engine.clock.nowMs();
    const out: Grant[] = [];
    for (const g of this.#all.values()) {
      if (filter.agentId !== undefined && g.agentId !== filter.agentId) continue;
      if (filter.subWalletId !== undefined && g.subWalletId !== filter.subWalletId) continue;
      if (filter.activeOnly && grantProblem(g, nowMs) !== undefined) continue;
      out.push(g);
    }
    out.sort((a, b) => a.createdAtMs - b.createdAtMs);
    return out.slice(0, limit).map(clone);
  }

  /**
   * Usable grants whose expiry falls within `withinMs` from now, soonest first (for
   * "grant about to expire" notifications).
   */
  expiringWithin(withinMs: number, opts: { nowMs?: number; limit?: number; where?: (g: Grant) => boolean } = {}): Grant[] {
    if (!Number.isSafeInteger(withinMs) || withinMs < 0) throw new AgentPayError("INVALID_INPUT", "withinMs must be a non-negative integer");
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    if (opts.where !== undefined && typeof opts.where !== "function") throw new AgentPayError("INVALID_INPUT", "where must be a function");
    const limit = checkLimit(opts.limit);
    const nowMs = opts.nowMs ?? this.#engine.clock.nowMs();
    const out: Grant[] = [];
    for (const g of this.#all.values()) {
      if (g.expiresAtMs === undefined || g.expiresAtMs > nowMs + withinMs) continue;
      if (grantProblem(g, nowMs) !== undefined) continue;
      // The caller's filter runs before the limit, so already-handled grants never crowd out the rest.
      if (opts.where && !opts.where(g)) continue;
      out.push(g);
    }
    out.sort((a, b) => a.expiresAtMs! - b.expiresAtMs!);
    return out.slice(0, limit).map(clone);
  }

  #validate(input: CreateGrantInput): GrantSpec {
    if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "grant input must be an object");
    const agentId = validateId(input.agentId, "agt", "agentId");
    const subWalletId = validateSubWalletId(input.subWalletId);
    if (input.mode !== "persistent" && input.mode !== "session") {
      throw new AgentPayError("INVALID_INPUT", 'mode must be "persistent" or "session"', { field: "mode" });
    }
    if (!Array.isArray(input.scopes) || input.scopes.length === 0 || input.scopes.length > GRANT_SCOPES.length * 2) {
      throw new AgentPayError("INVALID_INPUT", "scopes must be a non-empty list", { field: "scopes" });
    }
    for (const s of input.scopes) {
      if (!(GRANT_SCOPES as readonly unknown[]).includes(s)) {
        throw new AgentPayError("INVALID_INPUT", `scopes may only be ${GRANT_SCOPES.join(", ")}`, { field: "scopes" });
      }
    }
    const scopes = GRANT_SCOPES.filter((s) => input.scopes.includes(s));
    if (input.expiresIn !== undefined && input.expiresAtMs !== undefined) {
      throw new AgentPayError("INVALID_INPUT", "give expiresIn or expiresAtMs, not both", { field: "expiresIn" });
    }
    let expiresInMs: number | undefined;
    if (input.expiresIn !== undefined) {
      expiresInMs = typeof input.expiresIn === "string" ? parseDurationMs(input.expiresIn) : undefined;
      if (expiresInMs === undefined || expiresInMs <= 0) {
        throw new AgentPayError("INVALID_INPUT", 'expiresIn must be a duration like "15m" or "24h"', { field: "expiresIn" });
      }
    }
    if (input.expiresAtMs !== undefined && (!Number.isSafeInteger(input.expiresAtMs) || input.expiresAtMs <= 0)) {
      throw new AgentPayError("INVALID_INPUT", "expiresAtMs must be a time in ms since the epoch", { field: "expiresAtMs" });
    }
    if (input.mode === "session" && expiresInMs === undefined && input.expiresAtMs === undefined) expiresInMs = this.#sessionTtlMs;
    if (input.maxUses !== undefined && (!Number.isSafeInteger(input.maxUses) || input.maxUses <= 0 || input.maxUses > MAX_USES)) {
      throw new AgentPayError("INVALID_INPUT", `maxUses must be an integer 1-${MAX_USES}`, { field: "maxUses" });
    }
    return {
      subWalletId, agentId, scopes, mode: input.mode,
      ...(expiresInMs !== undefined ? { expiresInMs } : {}),
      ...(input.expiresAtMs !== undefined ? { expiresAtMs: input.expiresAtMs } : {}),
      ...(input.maxUses !== undefined ? { maxUses: input.maxUses } : {}),
    };
  }
}

function checkLimit(limit: number | undefined): number {
  const l = limit ?? 1_000;
  if (!Number.isSafeInteger(l) || l <= 0 || l > MAX_LIST) throw new AgentPayError("INVALID_INPUT", `limit must be 1-${MAX_LIST}`, { field: "limit" });
  return l;
}
