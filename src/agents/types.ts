/**
 * Agents, their keys, signed intents and grants: the records this module keeps,
 * and the storage keys they live under.
 */

/** Signature algorithms an agent key may use (JWS `alg`). */
export type IntentAlg = "EdDSA" | "ES256";

/** A public key as registered: only the members RFC 7638 hashes, nothing private. */
export type AgentPublicJwk =
  | { readonly kty: "OKP"; readonly crv: "Ed25519"; readonly x: string }
  | { readonly kty: "EC"; readonly crv: "P-256"; readonly x: string; readonly y: string };

/** A private key as handed out once by `register`/`rotateKey` when the library generates the pair. */
export type AgentPrivateJwk =
  | { kty: "OKP"; crv: "Ed25519"; x: string; d: string; kid: string; alg: "EdDSA" }
  | { kty: "EC"; crv: "P-256"; x: string; y: string; d: string; kid: string; alg: "ES256" };

/**
 * A key of an agent. `kid` is the RFC 7638 SHA-256 thumbprint of the public JWK.
 * - active: the current key (exactly one is, unless it was revoked);
 * - retired: replaced by a rotation, still valid until revoked or until `notAfterMs` (grace period);
 * - revoked: never valid again.
 */
export interface AgentKey {
  readonly kid: string;
  readonly alg: IntentAlg;
  readonly publicKeyJwk: AgentPublicJwk;
  readonly status: "active" | "retired" | "revoked";
  readonly addedAtMs: number;
  readonly notAfterMs?: number;
  readonly revokedAtMs?: number;
}

export interface Agent {
  readonly id: string;
  readonly name: string;
  /** The person who registered it, when a person did. */
  readonly ownerId?: string;
  readonly status: "active" | "disabled";
  readonly createdAtMs: number;
  readonly disabledAtMs?: number;
  /** The key a client should sign with now (it may have been revoked since: check `keys`). */
  readonly activeKid: string;
  readonly keys: readonly AgentKey[];
}

/** Global key-id index: a key id belongs to one agent, forever (a revoked key can never come back). */
export interface KeyOwner {
  readonly kid: string;
  readonly agentId: string;
}

/** The claims of a payment intent (JWS payload). */
export interface IntentPayload {
  /** The agent id. */
  readonly iss: string;
  /** Issued at, in seconds since the epoch. */
  readonly iat: number;
  /** At least 128 random bits, base64url. */
  readonly nonce: string;
  /** The request: JSON, amounts as decimal strings. */
  readonly body: unknown;
}

/** An intent whose signature, key and age have been checked (outside the engine). */
export interface VerifiedIntent {
  readonly agentId: string;
  readonly kid: string;
  readonly alg: IntentAlg;
  readonly iatMs: number;
  readonly nonce: string;
  readonly body: unknown;
}

/** A used nonce, kept until an intent carrying it would be too old anyway. */
export interface NonceRecord {
  readonly agentId: string;
  readonly iatMs: number;
}

/** Nonces with `iatMs` below `floorMs` may have been pruned: intents that old are refused. */
export interface NonceFloor {
  readonly floorMs: number;
}

export const GRANT_SCOPES = ["pay", "refund:request", "balance:read", "statement:read"] as const;
export type GrantScope = (typeof GRANT_SCOPES)[number];
export type GrantMode = "persistent" | "session";

export interface Grant {
  readonly id: string;
  readonly subWalletId: string;
  readonly agentId: string;
  readonly scopes: readonly GrantScope[];
  readonly mode: GrantMode;
  readonly status: "active" | "revoked";
  readonly createdAtMs: number;
  readonly expiresAtMs?: number;
  readonly maxUses?: number;
  readonly uses: number;
  readonly lastUsedAtMs?: number;
  readonly revokedAtMs?: number;
}

/** Grants of one agent over one sub-wallet (bounded), so `checkGrant` can find them inside a command. */
export interface GrantPairIndex {
  readonly grantIds: readonly string[];
}

/** Storage keys. */
export const AGENT_PREFIX = "ag/";
export const KEY_OWNER_PREFIX = "ak/";
export const NONCE_PREFIX = "nn/";
export const GRANT_PREFIX = "gr/";
export const GRANT_PAIR_PREFIX = "gx/";
export const agentKey = (agentId: string): string => `${AGENT_PREFIX}${agentId}`;
export const keyOwnerKey = (kid: string): string => `${KEY_OWNER_PREFIX}${kid}`;
export const nonceKey = (agentId: string, nonce: string): string => `${NONCE_PREFIX}${agentId}/${nonce}`;
export const NONCE_FLOOR_KEY = `${NONCE_PREFIX}floor`;
export const grantKey = (grantId: string): string => `${GRANT_PREFIX}${grantId}`;
export const grantPairKey = (agentId: string, subWalletId: string): string => `${GRANT_PAIR_PREFIX}${agentId}/${subWalletId}`;

/** Error codes this module throws (besides INVALID_INPUT / INVALID_ID). */
export const AgentErrorCodes = [
  "AGENT_NOT_FOUND",
  "AGENT_DISABLED",
  "AGENT_KEY_INVALID",
  "AGENT_KEY_EXISTS",
  "AGENT_KEY_NOT_FOUND",
  "AGENT_KEY_LIMIT",
  "INTENT_MALFORMED",
  "INTENT_SIGNATURE_INVALID",
  "INTENT_KEY_UNKNOWN",
  "INTENT_KEY_REVOKED",
  "INTENT_EXPIRED",
  "INTENT_REPLAYED",
  "GRANT_NOT_FOUND",
  "GRANT_REVOKED",
  "GRANT_EXPIRED",
  "GRANT_EXHAUSTED",
  "GRANT_SCOPE_MISSING",
  "GRANT_LIMIT_REACHED",
] as const;
export type AgentErrorCode = (typeof AgentErrorCodes)[number];

/** Intents older (or further in the future) than this are refused by default. */
export const DEFAULT_INTENT_MAX_AGE_MS = 5 * 60_000;
/** Upper bound of an encoded intent. */
export const MAX_INTENT_BYTES = 64 * 1024;
