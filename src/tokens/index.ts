// Token Pay: the format (claim set documented in format.ts), the issuer key ring, minting and verification.
export {
  TOKEN_TYP, TOKEN_ALGS, MAX_TOKEN_CHARS, DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS, MIN_TOKEN_TTL_MS, TokenErrorCodes,
  jwkThumbprint,
} from "./format.ts";
export type { TokenAlg, TokenClaims, TokenErrorCode, VerifiedToken } from "./format.ts";
export { TokenKeyRing, TOKEN_KEY_PREFIX } from "./keyring.ts";
export type { Jwks, TokenKeyInfo, TokenKeyRingOptions, TokenPublicJwk } from "./keyring.ts";
export { TokenIssuer } from "./issuer.ts";
export type { IssuerVerifyOptions, MintTokenInput, MintedToken, TokenIssuerOptions } from "./issuer.ts";
export { TokenVerifier, verifyTokenOffline } from "./offline.ts";
export type { OfflineVerifyOptions } from "./offline.ts";
