import { createPublicKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { AgentPayError, expectObject, newId, parseDurationMs, validateId, validateKey, MinHeap, threadPoolSignatures } from "../core/index.ts";
import type { SignatureService } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import { parseIntent } from "./intent.ts";
import { generateAgentKey, importPublicKey, isIntentAlg, preparePublicKey } from "./jwk.ts";
import { consumeNonce, pruneNonces } from "./nonces.ts";
import {
  AGENT_PREFIX, DEFAULT_INTENT_MAX_AGE_MS, NONCE_FLOOR_KEY, NONCE_PREFIX, agentKey, keyOwnerKey, nonceKey,
} from "./types.ts";
import type { Agent, AgentKey, AgentPrivateJwk, AgentPublicJwk, IntentAlg, KeyOwner, NonceRecord, VerifiedIntent } from "./types.ts";

const MAX_NAME = 100;
const NAME_RE = /^[^\u0000-\u001f\u007f]+$/;
const DEFAULT_MAX_KEYS = 16;
const DEFAULT_MAX_AGENTS_PER_OWNER = 1_000;
const MAX_KEY_CACHE = 10_000;
const DEFAULT_PRUNE_BATCH = 1_000;
const MAX_PRUNE_BATCH = 10_000;

/* ---------------------------------------------------------------- pure functions over a Tx */

export function getAgent(tx: Tx, agentId: string): Agent {
  const a = tx.get<Agent>(agentKey(agentId));
  if (!a) throw new AgentPayError("AGENT_NOT_FOUND", "no such agent", { agentId });
  return a;
}

/** Why a key cannot sign at `nowMs`, or undefined when it can. */
export function keyProblem(key: AgentKey, nowMs: number): "revoked" | "grace_ended" | undefined {
  if (key.status === "revoked") return "revoked";
  if (key.notAfterMs !== undefined && nowMs >= key.notAfterMs) return "grace_ended";
  return undefined;
}

/**
 * Admits a verified intent INSIDE the engine command that acts on it: re-checks, at
 * `tx.nowMs`, that the agent is enabled and the key still valid (a revocation or a
 * disable queued before this command wins), then consumes the nonce (replay check).
 */
export function acceptIntent(tx: Tx, intent: VerifiedIntent, maxAgeMs: number = DEFAULT_INTENT_MAX_AGE_MS): Agent {
  const agent = tx.get<Agent>(agentKey(intent.agentId));
  if (!agent) throw new AgentPayError("INTENT_KEY_UNKNOWN", "the intent's key is not registered", { agentId: intent.agentId });
  const key = agent.keys.find((k) => k.kid === intent.kid);
  if (!key) throw new AgentPayError("INTENT_KEY_UNKNOWN", "the intent's key is not registered", { agentId: agent.id, kid: intent.kid });
  const problem = keyProblem(key, tx.nowMs);
  if (problem) throw new AgentPayError("INTENT_KEY_REVOKED", "the intent's key is no longer valid", { agentId: agent.id, kid: key.kid, reason: problem });
  if (agent.status !== "active") throw new AgentPayError("AGENT_DISABLED", "the agent is disabled", { agentId: agent.id });
  consumeNonce(tx, agent.id, intent.nonce, intent.iatMs, maxAgeMs);
  return agent;
}

interface NewKey {
  kid: string;
  alg: IntentAlg;
  jwk: AgentPublicJwk;
}

function claimKid(tx: Tx, kid: string, agentId: string): void {
  if (tx.has(keyOwnerKey(kid))) throw new AgentPayError("AGENT_KEY_EXISTS", "this public key is already registered", { kid });
  tx.put(keyOwnerKey(kid), { kid, agentId } satisfies KeyOwner);
}

function registerCmd(tx: Tx, id: string, name: string, key: NewKey, ownerId: string | undefined, owned: number, maxPerOwner: number): Agent {
  if (ownerId !== undefined && owned >= maxPerOwner) {
    throw new AgentPayError("INVALID_INPUT", `at most ${maxPerOwner} agents per person: disable or reuse one`, { ownerId, max: maxPerOwner });
  }
  claimKid(tx, key.kid, id);
  const agent: Agent = {
    id, name, status: "active", createdAtMs: tx.nowMs, activeKid: key.kid, ...(ownerId !== undefined ? { ownerId } : {}),
    keys: [{ kid: key.kid, alg: key.alg, publicKeyJwk: key.jwk, status: "active", addedAtMs: tx.nowMs }],
  };
  tx.put(agentKey(id), agent);
  return agent;
}

function rotateCmd(tx: Tx, agentId: string, key: NewKey, graceMs: number | undefined, maxKeys: number): Agent {
  const agent = getAgent(tx, agentId);
  if (agent.status !== "active") throw new AgentPayError("AGENT_DISABLED", "the agent is disabled", { agentId });
  claimKid(tx, key.kid, agentId);
  let keys: AgentKey[] = agent.keys.map((k) =>
    k.status === "active"
      ? { ...k, status: "retired" as const, ...(graceMs !== undefined ? { notAfterMs: tx.nowMs + graceMs } : {}) }
      : k,
  );
  if (keys.length >= maxKeys) {
    // Forget the oldest keys that can never sign again; their kids stay claimed in ak/ so they can't come back.
    const dead = keys.filter((k) => keyProblem(k, tx.nowMs) !== undefined).sort((a, b) => a.addedAtMs - b.addedAtMs);
    const drop = new Set(dead.slice(0, keys.length - maxKeys + 1).map((k) => k.kid));
    keys = keys.filter((k) => !drop.has(k.kid));
    if (keys.length >= maxKeys) {
      throw new AgentPayError("AGENT_KEY_LIMIT", "the agent has too many valid keys; revoke one first", { agentId, maxKeys });
    }
  }
  keys.push({ kid: key.kid, alg: key.alg, publicKeyJwk: key.jwk, status: "active", addedAtMs: tx.nowMs });
  const next: Agent = { ...agent, activeKid: key.kid, keys };
  tx.put(agentKey(agentId), next);
  return next;
}

function revokeKeyCmd(tx: Tx, agentId: string, kid: string): Agent {
  const agent = getAgent(tx, agentId);
  const key = agent.keys.find((k) => k.kid === kid);
  if (!key) throw new AgentPayError("AGENT_KEY_NOT_FOUND", "the agent has no such key", { agentId, kid });
  if (key.status === "revoked") return agent;
  const next: Agent = {
    ...agent,
    keys: agent.keys.map((k) => (k.kid === kid ? { ...k, status: "revoked" as const, revokedAtMs: tx.nowMs } : k)),
  };
  tx.put(agentKey(agentId), next);
  return next;
}

function disableCmd(tx: Tx, agentId: string): Agent {
  const agent = getAgent(tx, agentId);
  if (agent.status === "disabled") return agent;
  const next: Agent = { ...agent, status: "disabled", disabledAtMs: tx.nowMs };
  tx.put(agentKey(agentId), next);
  return next;
}

/* ---------------------------------------------------------------- the registry */

export interface AgentsOptions {
  /** Intents older, or dated further in the future, than this are refused. Default 5 minutes. */
  intentMaxAgeMs?: number;
  /** Keys kept per agent (revoked ones are forgotten first). Default 16. */
  maxKeysPerAgent?: number;
  /** Agents one person (ownerId) may register: listing them stays cheap. Default 1,000. */
  maxAgentsPerOwner?: number;
  /** Where intent signatures are checked. Default: node:crypto on libuv's thread pool. */
  signatures?: SignatureService;
}

export interface RegisterAgentInput {
  name: string;
  /**
   * The person who registered the agent, if a person did (a person's API key may then manage it);
   * an agent serving many persons (a travel bot) has none and is managed by the operator.
   */
  ownerId?: string;
  /** The agent's public key (Ed25519 OKP or P-256 EC). Omit to have a key pair generated. */
  publicKeyJwk?: unknown;
  /** Algorithm of a generated key pair. Default EdDSA (Ed25519). */
  alg?: IntentAlg;
}

export interface KeyResult {
  agent: Agent;
  kid: string;
  /** Only when the library generated the key pair: returned this once, never stored. */
  privateKeyJwk?: AgentPrivateJwk;
}

export interface RotateKeyInput {
  publicKeyJwk?: unknown;
  alg?: IntentAlg;
  /** How long the replaced key keeps verifying ("1h"); default: until revoked. */
  grace?: string;
  graceMs?: number;
}

export interface VerifyIntentOptions {
  nowMs?: number;
  maxAgeMs?: number;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/**
 * The agent registry. Construct it before `engine.load()` (it indexes nonces for pruning).
 * Keys are public JWKs; a generated private key is returned once and never stored.
 */
export class Agents {
  readonly #engine: Engine;
  readonly #maxAgeMs: number;
  readonly #maxKeys: number;
  readonly #maxPerOwner: number;
  /** Agent ids by the person who registered them (an agent's ownerId never changes). */
  readonly #byOwner = new Map<string, Set<string>>();
  readonly #signatures: SignatureService;
  readonly #nonces = new MinHeap<string>(); // nonce keys by iat
  readonly #publicKeys = new Map<string, KeyObject>();
  /** Intents verifyIntent returned (weakly held): consumeIntent takes only these. */
  readonly #verified = new WeakSet<object>();
  #pruning = false;

  constructor(engine: Engine, opts: AgentsOptions = {}) {
    this.#engine = engine;
    this.#maxAgeMs = opts.intentMaxAgeMs ?? DEFAULT_INTENT_MAX_AGE_MS;
    this.#maxKeys = opts.maxKeysPerAgent ?? DEFAULT_MAX_KEYS;
    this.#maxPerOwner = opts.maxAgentsPerOwner ?? DEFAULT_MAX_AGENTS_PER_OWNER;
    this.#signatures = opts.signatures ?? threadPoolSignatures;
    if (!Number.isSafeInteger(this.#maxAgeMs) || this.#maxAgeMs <= 0) throw new AgentPayError("INVALID_INPUT", "intentMaxAgeMs must be a positive integer");
    if (!Number.isSafeInteger(this.#maxKeys) || this.#maxKeys < 2) throw new AgentPayError("INVALID_INPUT", "maxKeysPerAgent must be at least 2");
    if (!Number.isSafeInteger(this.#maxPerOwner) || this.#maxPerOwner < 1) throw new AgentPayError("INVALID_INPUT", "maxAgentsPerOwner must be a positive integer");
    engine.observe(AGENT_PREFIX, (_key, before, after) => {
      const owner = ((after ?? before) as Agent | undefined)?.ownerId;
      if (owner === undefined) return;
      let ids = this.#byOwner.get(owner);
      if (after) {
        if (!ids) this.#byOwner.set(owner, (ids = new Set()));
        ids.add((after as Agent).id);
      } else if (ids) {
        ids.delete((before as Agent).id);
        if (ids.size === 0) this.#byOwner.delete(owner);
      }
    });
    engine.observe(NONCE_PREFIX, (key, before, after) => {
      if (key !== NONCE_FLOOR_KEY && before === undefined && after !== undefined) this.#nonces.push((after as NonceRecord).iatMs, key);
    });
  }

  /** The intent age window (ms) this registry enforces. */
  get intentMaxAgeMs(): number {
    return this.#maxAgeMs;
  }

  async register(input: RegisterAgentInput): Promise<KeyResult> {
    expectObject<RegisterAgentInput>(input, ["name", "publicKeyJwk", "alg", "ownerId"], "register input");
    const name = input.name;
    if (typeof name !== "string" || name.trim().length === 0 || name.length > MAX_NAME || !NAME_RE.test(name)) {
      throw new AgentPayError("INVALID_INPUT", `name must be 1-${MAX_NAME} printable characters`, { field: "name" });
    }
    const ownerId = input.ownerId === undefined ? undefined : validateKey(input.ownerId, "ownerId");
    const { key, privateKeyJwk } = await this.#newKey(input.publicKeyJwk, input.alg);
    const agent = await this.#engine.submit((tx) =>
      registerCmd(tx, newId("agt"), name, key, ownerId, ownerId === undefined ? 0 : this.#byOwner.get(ownerId)?.size ?? 0, this.#maxPerOwner));
    return { agent: clone(agent), kid: key.kid, ...(privateKeyJwk ? { privateKeyJwk } : {}) };
  }

  /** Adds a new active key; the previous one stays valid until revoked, or for `grace`. */
  async rotateKey(agentId: string, input: RotateKeyInput = {}): Promise<KeyResult> {
    validateId(agentId, "agt", "agentId");
    expectObject<RotateKeyInput>(input, ["publicKeyJwk", "alg", "grace", "graceMs"], "rotateKey input");
    let graceMs: number | undefined;
    if (input.grace !== undefined && input.graceMs !== undefined) throw new AgentPayError("INVALID_INPUT", "give grace or graceMs, not both");
    if (input.grace !== undefined) {
      graceMs = typeof input.grace === "string" ? parseDurationMs(input.grace) : undefined;
      if (graceMs === undefined) throw new AgentPayError("INVALID_INPUT", 'grace must be a duration like "15m" or "24h"', { field: "grace" });
    } else if (input.graceMs !== undefined) {
      graceMs = input.graceMs;
      if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new AgentPayError("INVALID_INPUT", "graceMs must be a non-negative integer", { field: "graceMs" });
    }
    this.get(agentId); // fail fast before generating a key
    const { key, privateKeyJwk } = await this.#newKey(input.publicKeyJwk, input.alg);
    const agent = await this.#engine.submit((tx) => rotateCmd(tx, agentId, key, graceMs, this.#maxKeys));
    return { agent: clone(agent), kid: key.kid, ...(privateKeyJwk ? { privateKeyJwk } : {}) };
  }

  /** Revokes a key at once (also for intents already verified but not yet applied). Idempotent. */
  async revokeKey(agentId: string, kid: string): Promise<Agent> {
    validateId(agentId, "agt", "agentId");
    if (typeof kid !== "string" || kid.length === 0 || kid.length > 128) throw new AgentPayError("INVALID_INPUT", "kid must be a key id", { field: "kid" });
    return clone(await this.#engine.submit((tx) => revokeKeyCmd(tx, agentId, kid)));
  }

  /** Disables the agent at once: its intents are refused with AGENT_DISABLED. Idempotent. */
  async disable(agentId: string): Promise<Agent> {
    validateId(agentId, "agt", "agentId");
    return clone(await this.#engine.submit((tx) => disableCmd(tx, agentId)));
  }

  get(agentId: string): Agent {
    validateId(agentId, "agt", "agentId");
    const a = this.#engine.read<Agent>(agentKey(agentId));
    if (!a) throw new AgentPayError("AGENT_NOT_FOUND", "no such agent", { agentId });
    return clone(a);
  }

  /** Every agent (for tools and the CLI; O(records)), or the agents one person registered (O(theirs)). */
  list(filter: { ownerId?: string } = {}): Agent[] {
    if (filter === null || typeof filter !== "object") throw new AgentPayError("INVALID_INPUT", "filter must be an object");
    if (filter.ownerId !== undefined) {
      return [...(this.#byOwner.get(validateKey(filter.ownerId, "ownerId")) ?? [])].map((id) => clone(this.#engine.read<Agent>(agentKey(id))!));
    }
    const out: Agent[] = [];
    for (const [, a] of this.#engine.scan<Agent>(AGENT_PREFIX)) out.push(clone(a));
    // Oldest first, as merchants.list(): the scan's own order is unspecified (sharded records).
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  /**
   * Verifies an intent OUTSIDE the engine: structure, agent and key, signature, key
   * status, agent status, age. Does not consume the nonce: run `acceptIntent(tx, intent)`
   * inside the command that acts on it (or use `receiveIntent`).
   */
  async verifyIntent(jws: string, opts: VerifyIntentOptions = {}): Promise<VerifiedIntent> {
    const { header, payload } = parseIntent(jws);
    const maxAgeMs = opts.maxAgeMs ?? this.#maxAgeMs;
    const agentId = payload.iss;
    const agent = this.#engine.read<Agent>(agentKey(agentId));
    const key = agent?.keys.find((k) => k.kid === header.kid);
    if (!agent || !key) throw new AgentPayError("INTENT_KEY_UNKNOWN", "the intent's key is not registered for this agent", { agentId, kid: header.kid });
    if (key.alg !== header.alg) throw new AgentPayError("INTENT_SIGNATURE_INVALID", "the intent's signature does not verify", { agentId, kid: key.kid });
    // parseIntent has checked the structure (three base64url segments, header members, alg):
    // what is left is the signature over "header.payload", checked off this thread (the SignatureService).
    const ok = await verifySignature(this.#signatures, key.alg, this.#publicKey(key), jws);
    if (!ok) throw new AgentPayError("INTENT_SIGNATURE_INVALID", "the intent's signature does not verify", { agentId, kid: key.kid });
    // Re-read: the agent may have changed while the signature was being checked.
    const now = this.#engine.read<Agent>(agentKey(agentId))!;
    const nowKey = now.keys.find((k) => k.kid === key.kid);
    const nowMs = opts.nowMs ?? this.#engine.clock.nowMs();
    const problem = nowKey ? keyProblem(nowKey, nowMs) : "revoked";
    if (problem) throw new AgentPayError("INTENT_KEY_REVOKED", "the intent's key is no longer valid", { agentId, kid: key.kid, reason: problem });
    if (now.status !== "active") throw new AgentPayError("AGENT_DISABLED", "the agent is disabled", { agentId });
    const iatMs = payload.iat * 1000;
    if (Math.abs(nowMs - iatMs) > maxAgeMs) {
      throw new AgentPayError("INTENT_EXPIRED", "the intent is too old or dated in the future", { agentId, maxAgeMs });
    }
    // Fails fast on a resent intent (the command checks again, and records the nonce).
    if (this.#engine.read(nonceKey(agentId, payload.nonce)) !== undefined) {
      throw new AgentPayError("INTENT_REPLAYED", "this intent was already used", { agentId });
    }
    const verified: VerifiedIntent = { agentId, kid: key.kid, alg: key.alg, iatMs, nonce: payload.nonce, body: payload.body };
    this.#verified.add(verified);
    return verified;
  }

  /**
   * Verifies an intent, then in ONE engine command admits it (`acceptIntent`: key, agent,
   * nonce) and runs `then` (e.g. grant check and payment) over the same Tx. An intent is used
   * once whatever its outcome: if `then` throws, its writes are undone but the nonce stays used,
   * and the error reaches the caller.
   */
  async receiveIntent<R = VerifiedIntent>(
    jws: string,
    then?: (tx: Tx, intent: VerifiedIntent, agent: Agent) => R,
    opts: VerifyIntentOptions = {},
  ): Promise<R> {
    const intent = await this.verifyIntent(jws, opts);
    const maxAgeMs = opts.maxAgeMs ?? this.#maxAgeMs;
    const out = await this.#engine.submit((tx): { ok: true; value: R } | { ok: false; error: unknown } => {
      const agent = acceptIntent(tx, intent, maxAgeMs);
      if (!then) return { ok: true, value: intent as R };
      try {
        return { ok: true, value: tx.nested(() => then(tx, intent, agent)) };
      } catch (e) {
        return { ok: false, error: e };
      }
    });
    if (!out.ok) throw out.error;
    return out.value;
  }

  /**
   * Marks a verified intent used without acting on it: for a caller that refused it before its
   * command, so the same JWS cannot be resent once the cause is gone. Throws what `acceptIntent` does.
   */
  async consumeIntent(intent: VerifiedIntent): Promise<void> {
    if (!this.#verified.has(intent as object)) throw new AgentPayError("INVALID_INPUT", "not an intent this registry verified", { field: "intent" });
    const maxAgeMs = this.#maxAgeMs;
    await this.#engine.submit((tx) => {
      acceptIntent(tx, intent, maxAgeMs);
    });
  }

  /**
   * Authenticates an agent's HTTP request: `signature` is an intent (compact JWS, signed with the
   * agent's key) whose body is `{ action: "request", method, path, bodySha256 }` naming exactly this
   * request (path with its query string; bodySha256 the base64url SHA-256 of the raw body, of "" for
   * none). Its nonce is consumed durably, so a replayed or reused signature is refused
   * (INTENT_REPLAYED), as is one too old or dated ahead (INTENT_EXPIRED, 5 minutes by default).
   */
  async authenticateRequest(signature: string, request: { method: string; path: string; bodySha256: string }): Promise<{ agentId: string; kid: string }> {
    const intent = await this.verifyIntent(signature);
    const b = intent.body as Record<string, unknown> | null;
    const keys = b !== null && typeof b === "object" && !Array.isArray(b) ? Object.keys(b).sort().join(",") : "";
    if (keys !== "action,bodySha256,method,path" || b!.action !== "request" || b!.method !== request.method.toUpperCase()
      || b!.path !== request.path || b!.bodySha256 !== request.bodySha256) {
      throw new AgentPayError("REQUEST_SIGNATURE_INVALID", "the request signature does not name this request (method, path and body digest)", { agentId: intent.agentId });
    }
    const maxAgeMs = this.#maxAgeMs;
    await this.#engine.submit((tx) => acceptIntent(tx, intent, maxAgeMs));
    return { agentId: intent.agentId, kid: intent.kid };
  }

  /**
   * Forgets up to `max` nonces too old to matter (one bounded engine command).
   * Returns how many were deleted.
   */
  async pruneNonces(opts: { max?: number } = {}): Promise<number> {
    expectObject<{ max?: number }>(opts, ["max"], "pruneNonces options");
    const max = opts.max ?? DEFAULT_PRUNE_BATCH;
    if (!Number.isSafeInteger(max) || max <= 0 || max > MAX_PRUNE_BATCH) {
      throw new AgentPayError("INVALID_INPUT", `max must be 1-${MAX_PRUNE_BATCH}`, { field: "max" });
    }
    const cutoffMs = this.#engine.clock.nowMs() - this.#maxAgeMs;
    const candidates = this.#nonces.takeBelow(cutoffMs, max);
    if (candidates.length === 0) return 0;
    const maxAgeMs = this.#maxAgeMs;
    try {
      const { deleted, kept } = await this.#engine.submit((tx) => pruneNonces(tx, candidates, maxAgeMs));
      this.#requeue(kept);
      return deleted;
    } catch (e) {
      this.#requeue(candidates);
      throw e;
    }
  }

  /** Prunes nonces every `intervalMs` in the background; returns a stop function. */
  startNoncePruner(intervalMs = 60_000): () => void {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 10) throw new AgentPayError("INVALID_INPUT", "intervalMs must be at least 10");
    const timer = setInterval(() => {
      if (this.#pruning) return;
      this.#pruning = true;
      this.pruneNonces()
        .catch(() => { /* the engine reports its own failures; try again next tick */ })
        .finally(() => { this.#pruning = false; });
    }, intervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** Nonce records waiting to be pruned (tests, metrics). */
  get nonceBacklog(): number {
    return this.#nonces.size;
  }

  #requeue(keys: readonly string[]): void {
    for (const k of keys) {
      const rec = this.#engine.read<NonceRecord>(k);
      if (rec) this.#nonces.push(rec.iatMs, k);
    }
  }

  async #newKey(publicKeyJwk: unknown, alg: unknown): Promise<{ key: NewKey; privateKeyJwk?: AgentPrivateJwk }> {
    if (alg !== undefined && !isIntentAlg(alg)) throw new AgentPayError("INVALID_INPUT", "alg must be EdDSA or ES256", { field: "alg" });
    if (publicKeyJwk !== undefined) {
      const p = await preparePublicKey(publicKeyJwk);
      if (alg !== undefined && alg !== p.alg) throw new AgentPayError("AGENT_KEY_INVALID", "alg does not match the public key", { reason: "bad_alg" });
      return { key: { kid: p.kid, alg: p.alg, jwk: p.jwk } };
    }
    const g = await generateAgentKey(alg ?? "EdDSA");
    return { key: { kid: g.kid, alg: g.alg, jwk: g.jwk }, privateKeyJwk: g.privateKeyJwk };
  }

  #publicKey(key: AgentKey): KeyObject {
    let k = this.#publicKeys.get(key.kid);
    if (!k) {
      if (this.#publicKeys.size >= MAX_KEY_CACHE) this.#publicKeys.delete(this.#publicKeys.keys().next().value!);
      // Registration checked the point already (importPublicKey).
      k = createPublicKey({ key: { ...key.publicKeyJwk }, format: "jwk" });
      this.#publicKeys.set(key.kid, k);
    }
    return k;
  }
}

/** A compact JWS's signature (EdDSA, or ES256 as r||s) over its first two segments; never rejects. */
function verifySignature(signatures: SignatureService, alg: IntentAlg, publicKey: KeyObject, jws: string): Promise<boolean> {
  const dot = jws.lastIndexOf(".");
  return signatures.verify(alg, publicKey, jws.slice(0, dot), Buffer.from(jws.slice(dot + 1), "base64url")).catch(() => false);
}
