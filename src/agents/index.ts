export { Agents, acceptIntent, getAgent, keyProblem } from "./registry.ts";
export type { AgentsOptions, KeyResult, RegisterAgentInput, RotateKeyInput, VerifyIntentOptions } from "./registry.ts";
export { Grants, checkGrant, useGrant, revokeGrant, grantProblem } from "./grants.ts";
export type { CreateGrantInput, GrantQuery, GrantsOptions } from "./grants.ts";
export { signIntent, createIntentSigner, parseIntent, isNonce, INTENT_TYP, requestSignatureBody } from "./intent.ts";
export type { IntentHeader, ParsedIntent, SignIntentInput, RequestSignatureBody } from "./intent.ts";
export { consumeNonce, pruneNonces } from "./nonces.ts";
export { normalizePublicJwk, thumbprint, generateAgentKey } from "./jwk.ts";
export {
  AGENT_PREFIX, KEY_OWNER_PREFIX, NONCE_PREFIX, GRANT_PREFIX, GRANT_PAIR_PREFIX,
  agentKey, keyOwnerKey, nonceKey, grantKey, grantPairKey,
  AgentErrorCodes, GRANT_SCOPES, DEFAULT_INTENT_MAX_AGE_MS, MAX_INTENT_BYTES,
} from "./types.ts";
export type {
  Agent, AgentKey, AgentPublicJwk, AgentPrivateJwk, AgentErrorCode, Grant, GrantMode, GrantScope, IntentAlg,
  IntentPayload, NonceRecord, VerifiedIntent,
} from "./types.ts";
