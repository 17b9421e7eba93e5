// The x402 v2 protocol types (specs/x402-specification-v2.md and specs/transports-v2/http.md of
// github.com/coinbase/x402), written out here so agentpay's x402 entry point depends on no x402 package.
// test/x402/x402-core.test.ts checks both ways that they are interchangeable with @x402/core's own types.

/** A CAIP-2 network id, `namespace:reference` (e.g. `eip155:8453`, `agentpay:agentpay`). */
export type Network = `${string}:${string}`;

export interface ResourceInfo {
  url: string;
  description?: string;
  mimeType?: string;
}

/** One way to pay for a resource (an "offer"): the `accepts` items of a 402. */
export interface PaymentRequirements {
  scheme: string;
  network: Network;
  /** Atomic units (for agentpay's schemes: minor units), a decimal string. */
  amount: string;
  /** An ISO 4217 code on the ledger rail; the ERC-20 contract address on-chain. */
  asset: string;
  /** The merchant id (ledger rail) or the merchant's address (on-chain). */
  payTo: string;
  maxTimeoutSeconds: number;
  extra: Record<string, unknown>;
}

/** The body of the PAYMENT-REQUIRED header. */
export interface PaymentRequired {
  x402Version: number;
  error?: string;
  resource: ResourceInfo;
  accepts: PaymentRequirements[];
  extensions?: Record<string, unknown>;
}

/** The body of the PAYMENT-SIGNATURE header. */
export interface PaymentPayload {
  x402Version: number;
  resource?: ResourceInfo;
  accepted: PaymentRequirements;
  payload: Record<string, unknown>;
  extensions?: Record<string, unknown>;
}

export interface VerifyRequest {
  x402Version: number;
  paymentPayload: PaymentPayload;
  paymentRequirements: PaymentRequirements;
}

export interface VerifyResponse {
  isValid: boolean;
  invalidReason?: string;
  invalidMessage?: string;
  payer?: string;
  extensions?: Record<string, unknown>;
}

export type SettleRequest = VerifyRequest;

/** The body of the PAYMENT-RESPONSE header, and the facilitator's /settle answer. */
export interface SettleResponse {
  success: boolean;
  errorReason?: string;
  errorMessage?: string;
  payer?: string;
  /** For agentpay's ledger rail: the payment id; on-chain: the transaction hash. Empty when it failed. */
  transaction: string;
  network: Network;
  /** Atomic units actually settled. */
  amount?: string;
  extensions?: Record<string, unknown>;
}

export interface SupportedKind {
  x402Version: number;
  scheme: string;
  network: Network;
  extra?: Record<string, unknown>;
}

export interface SupportedResponse {
  kinds: SupportedKind[];
  extensions: string[];
  signers: Record<string, string[]>;
}

export const X402_VERSION = 2;

/** HTTP header names of the v2 transport (case-insensitive on the wire). */
export const PAYMENT_REQUIRED_HEADER = "PAYMENT-REQUIRED";
export const PAYMENT_SIGNATURE_HEADER = "PAYMENT-SIGNATURE";
export const PAYMENT_RESPONSE_HEADER = "PAYMENT-RESPONSE";

/** agentpay's schemes. A Token Pay token redeemed on the ledger rail… */
export const TOKEN_SCHEME = "agentpay-token";
/** …and a spend voucher (with its twin token) that the merchant redeems with the settlement contract. */
export const VOUCHER_SCHEME = "agentpay-voucher";
/** The CAIP-2 namespace of agentpay's ledger rail (its reference names the issuer). */
export const LEDGER_NAMESPACE = "agentpay";

/** The payload of the agentpay-token scheme. */
export interface TokenSchemePayload {
  /** The Token Pay token (a compact JWS) for this merchant, cap ≥ the offer's amount. */
  token: string;
}

/** A voucher on the wire: uint256 fields as decimal strings. */
export interface WireVoucher {
  owner: string;
  agent: string;
  merchant: string;
  token: string;
  cap: string;
  deadline: string;
  nonce: string;
  ref: string;
  callTarget: string;
  callDataHash: string;
}

/** The payload of the agentpay-voucher scheme: the voucher and its twin token (whose `vh` claim is the voucher's digest). */
export interface VoucherSchemePayload {
  token: string;
  voucher: WireVoucher;
  signature: string;
  digest: string;
}
