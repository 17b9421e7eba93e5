// API keys for the HTTP API's principals other than agents (agents sign every request with their
// own key instead): the operator, persons (scoped to one owner's wallets) and merchants (scoped to one
// merchant). A key's secret is shown once at creation and stored only as its SHA-256 hash.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { AgentPayError, expectObject, newId, parseDurationMs, validateId, validateKey } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";

export type ApiKeyKind = "operator" | "person" | "merchant";

/** A key as stored and listed: never the secret. */
export interface ApiKey {
  readonly id: string;
  readonly kind: ApiKeyKind;
  /** For a person key: the owner whose wallets it acts on. */
  readonly ownerId?: string;
  /** For a merchant key: the merchant it acts as. */
  readonly merchantId?: string;
  readonly name?: string;
  /** The secret's first characters, to recognise a key in a list (e.g. `apk_p_3fQ9`). */
  readonly prefix: string;
  /** SHA-256 of the secret, hex. */
  readonly hash: string;
  readonly createdAtMs: number;
  /** Set when rotated with a grace period: the key stops working at this time. */
  readonly expiresAtMs?: number;
  readonly revokedAtMs?: number;
  /** The key that replaced this one (rotation). */
  readonly replacedBy?: string;
}

export interface CreateApiKeyInput {
  kind: ApiKeyKind;
  ownerId?: string;
  merchantId?: string;
  name?: string;
}

export interface CreatedApiKey {
  readonly apiKey: ApiKey;
  /** The secret: shown this once, never stored. Send it as `Authorization: Bearer <secret>`. */
  readonly secret: string;
}

/** Who a valid secret belongs to. */
export type KeyPrincipal =
  | { readonly kind: "operator"; readonly keyId: string }
  | { readonly kind: "person"; readonly keyId: string; readonly ownerId: string }
  | { readonly kind: "merchant"; readonly keyId: string; readonly merchantId: string };

const PREFIX = "apk/";
const keyRecord = (id: string): string => `${PREFIX}${id}`;
const KIND_LETTER: Record<ApiKeyKind, string> = { operator: "o", person: "p", merchant: "m" };
const SECRET_RE = /^apk_[opm]_[A-Za-z0-9_-]{43}$/;
const MAX_NAME = 100;
const MAX_KEYS_PER_SUBJECT = 20;

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/**
 * The API keys. Construct before `engine.load()` (it indexes the hashes). Authentication is a hash
 * lookup in memory: no engine command per request.
 */
export class ApiKeys {
  readonly #engine: Engine;
  readonly #byHash = new Map<string, string>();
  readonly #bySubject = new Map<string, Set<string>>();

  constructor(engine: Engine) {
    this.#engine = engine;
    engine.observe(PREFIX, (_k, before, after) => {
      const b = before as ApiKey | undefined;
      const a = after as ApiKey | undefined;
      if (b && !a) this.#byHash.delete(b.hash);
      if (a) {
        this.#byHash.set(a.hash, a.id);
        const subject = subjectOf(a);
        let set = this.#bySubject.get(subject);
        if (!set) this.#bySubject.set(subject, (set = new Set()));
        set.add(a.id);
      }
    });
  }

  /** A new key; its secret is in the result only. */
  async create(input: CreateApiKeyInput): Promise<CreatedApiKey> {
    expectObject<CreateApiKeyInput>(input, ["kind", "ownerId", "merchantId", "name"], "api key input");
    const kind = input.kind;
    if (kind !== "operator" && kind !== "person" && kind !== "merchant") {
      throw new AgentPayError("INVALID_INPUT", "kind must be operator, person or merchant", { field: "kind" });
    }
    const ownerId = kind === "person" ? validateKey(input.ownerId, "ownerId") : undefined;
    const merchantId = kind === "merchant" ? validateId(input.merchantId, "mer", "merchantId") : undefined;
    if ((kind !== "person" && input.ownerId !== undefined) || (kind !== "merchant" && input.merchantId !== undefined)) {
      throw new AgentPayError("INVALID_INPUT", "ownerId goes with a person key, merchantId with a merchant key", { field: kind === "person" ? "merchantId" : "ownerId" });
    }
    if (input.name !== undefined && (typeof input.name !== "string" || input.name.length === 0 || input.name.length > MAX_NAME)) {
      throw new AgentPayError("INVALID_INPUT", `name must be 1-${MAX_NAME} characters`, { field: "name" });
    }
    if (merchantId !== undefined && !this.#engine.read(`mc/${merchantId}`)) {
      throw new AgentPayError("MERCHANT_NOT_FOUND", "no such merchant", { merchantId });
    }
    const secret = `apk_${KIND_LETTER[kind]}_${randomBytes(32).toString("base64url")}`;
    const subject = subjectOf({ kind, ownerId, merchantId });
    const apiKey = await this.#engine.submit((tx) => {
      const live = [...(this.#bySubject.get(subject) ?? [])].filter((id) => {
        const k = tx.get<ApiKey>(keyRecord(id));
        return k && k.revokedAtMs === undefined && (k.expiresAtMs === undefined || k.expiresAtMs > tx.nowMs);
      });
      if (live.length >= MAX_KEYS_PER_SUBJECT) throw new AgentPayError("INVALID_INPUT", `at most ${MAX_KEYS_PER_SUBJECT} live keys per principal: revoke one first`);
      const rec: ApiKey = {
        id: newId("key"), kind, ...(ownerId !== undefined ? { ownerId } : {}), ...(merchantId !== undefined ? { merchantId } : {}),
        ...(input.name !== undefined ? { name: input.name } : {}), prefix: secret.slice(0, 10), hash: sha256(secret), createdAtMs: tx.nowMs,
      };
      tx.put(keyRecord(rec.id), rec);
      return rec;
    });
    return { apiKey, secret };
  }

  /**
   * The principal a secret authenticates, or undefined (unknown, revoked or expired). The secret is
   * compared by its SHA-256, so no timing tells anything about a stored secret.
   */
  authenticate(secret: unknown): KeyPrincipal | undefined {
    if (typeof secret !== "string" || !SECRET_RE.test(secret)) return undefined;
    const hash = sha256(secret);
    const id = this.#byHash.get(hash);
    const k = id ? this.#engine.read<ApiKey>(keyRecord(id)) : undefined;
    if (!k || !timingSafeEqual(Buffer.from(k.hash, "hex"), Buffer.from(hash, "hex"))) return undefined;
    const nowMs = this.#engine.clock.nowMs();
    if (k.revokedAtMs !== undefined || (k.expiresAtMs !== undefined && nowMs >= k.expiresAtMs)) return undefined;
    if (k.kind === "person") return { kind: "person", keyId: k.id, ownerId: k.ownerId! };
    if (k.kind === "merchant") return { kind: "merchant", keyId: k.id, merchantId: k.merchantId! };
    return { kind: "operator", keyId: k.id };
  }

  get(keyId: string): ApiKey {
    const k = this.#engine.read<ApiKey>(keyRecord(validateId(keyId, "key", "keyId")));
    if (!k) throw new AgentPayError("API_KEY_NOT_FOUND", "no such API key", { keyId });
    return k;
  }

  /** The keys of one principal (a person's, a merchant's, or the operator's), newest first. */
  list(filter: { kind: ApiKeyKind; ownerId?: string; merchantId?: string }): ApiKey[] {
    if (filter === null || typeof filter !== "object") throw new AgentPayError("INVALID_INPUT", "filter must be an object");
    const ids = this.#bySubject.get(subjectOf(filter)) ?? new Set<string>();
    return [...ids].map((id) => this.#engine.read<ApiKey>(keyRecord(id))!).sort((a, b) => b.createdAtMs - a.createdAtMs);
  }

  /** Revokes a key at once. Idempotent. */
  async revoke(keyId: string): Promise<ApiKey> {
    validateId(keyId, "key", "keyId");
    return this.#engine.submit((tx) => {
      const k = tx.get<ApiKey>(keyRecord(keyId));
      if (!k) throw new AgentPayError("API_KEY_NOT_FOUND", "no such API key", { keyId });
      if (k.revokedAtMs !== undefined) return k;
      const next: ApiKey = { ...k, revokedAtMs: tx.nowMs };
      tx.put(keyRecord(keyId), next);
      return next;
    });
  }

  /**
   * A new key for the same principal; the old one keeps working for `grace` ("15m"; default "0s":
   * it stops at once), so a deployment can switch without downtime.
   */
  async rotate(keyId: string, opts: { grace?: string } = {}): Promise<CreatedApiKey> {
    const old = this.get(keyId);
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    const graceMs = opts.grace === undefined ? 0 : typeof opts.grace === "string" ? parseDurationMs(opts.grace) : undefined;
    if (graceMs === undefined || graceMs > 7 * 86_400_000) {
      throw new AgentPayError("INVALID_INPUT", 'grace must be a duration like "15m" of at most 7 days', { field: "grace" });
    }
    if (old.revokedAtMs !== undefined) throw new AgentPayError("API_KEY_NOT_FOUND", "the key is revoked", { keyId });
    // Rotating a key again would extend its grace (and mint another key from a secret on its way out).
    if (old.replacedBy !== undefined) throw new AgentPayError("INVALID_INPUT", "the key was rotated already: rotate its replacement", { keyId, replacedBy: old.replacedBy });
    const created = await this.create({
      kind: old.kind, ...(old.ownerId !== undefined ? { ownerId: old.ownerId } : {}),
      ...(old.merchantId !== undefined ? { merchantId: old.merchantId } : {}), ...(old.name !== undefined ? { name: old.name } : {}),
    });
    await this.#engine.submit((tx) => {
      const k = tx.get<ApiKey>(keyRecord(keyId))!;
      // Two rotations racing past the check above: the earlier end stands, the first replacement is named.
      const replacedBy = k.replacedBy ?? created.apiKey.id;
      const next: ApiKey = graceMs === 0
        ? { ...k, revokedAtMs: k.revokedAtMs ?? tx.nowMs, replacedBy }
        : { ...k, expiresAtMs: Math.min(tx.nowMs + graceMs, k.expiresAtMs ?? Infinity), replacedBy };
      tx.put(keyRecord(keyId), next);
    });
    return created;
  }

  /** How many live operator keys exist (the server refuses to start without one). */
  operatorKeyCount(): number {
    const nowMs = this.#engine.clock.nowMs();
    return this.list({ kind: "operator" }).filter((k) => k.revokedAtMs === undefined && (k.expiresAtMs === undefined || k.expiresAtMs > nowMs)).length;
  }
}

function subjectOf(k: { kind: ApiKeyKind; ownerId?: string | undefined; merchantId?: string | undefined }): string {
  return k.kind === "person" ? `p:${k.ownerId}` : k.kind === "merchant" ? `m:${k.merchantId}` : "o";
}
