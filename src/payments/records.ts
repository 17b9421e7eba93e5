import type { RiskDecision } from "../risk/index.ts";
import type { Tx } from "../engine/index.ts";
import type { SignedVoucher } from "../chain/index.ts";

export type PaymentStatus =
  | "pending_approval" // waiting on the person
  | "authorized"       // hold placed, token issued
  | "captured"         // redeemed by the merchant (possibly refunded in part since)
  | "voided"           // released before redemption
  | "expired"          // token expired unredeemed; hold released
  | "declined"         // policy or risk said no; nothing moved
  | "denied";          // the person said no (or the approval expired)

export interface PolicyDecision {
  readonly outcome: "allow" | "review" | "decline";
  readonly version: number;
  readonly reasons: readonly { readonly code: string; readonly message: string }[];
}

/** Why a payment went the way it did: the policy's verdict and the risk engine's record. */
export interface Decision {
  readonly outcome: "allow" | "review" | "decline";
  readonly policy: PolicyDecision;
  readonly risk: RiskDecision;
  readonly atMs: number;
}

export interface Payment {
  readonly id: string;
  readonly status: PaymentStatus;
  readonly ownerId: string;
  readonly walletId: string;
  readonly subWalletId: string;
  readonly agentId: string;
  readonly grantId?: string;
  readonly merchantId: string;
  readonly category: string;
  /** The amount asked for, which is also the token's cap. */
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly reference?: string;
  readonly idempotencyKey: string;
  readonly createdAtMs: number;
  readonly decision: Decision;
  /** The agent key (RFC 7638 thumbprint) that signed the intent: a later token binds to it. */
  readonly agentKid: string;
  readonly approvalId?: string;
  /** Set once authorized. */
  readonly tokenId?: string;
  readonly holdTransferId?: string;
  readonly authorizedAtMs?: number;
  readonly expiresAtMs?: number;
  readonly captureTransferId?: string;
  readonly capturedMinor?: bigint;
  readonly capturedAtMs?: number;
  readonly refundedMinor?: bigint;
  readonly resolvedAtMs?: number;
  /** Set for a payment to a merchant that settles on-chain: the voucher twinned with its token. */
  readonly chain?: PaymentChainInfo;
  /**
   * Where each change of this payment sits in one durable order of all payment changes (nextRiskSeqIn),
   * so a reopen replays them into the risk engine in exactly the order it learnt them. `denied` is set
   * only when the person denied it (an approval that expired unanswered teaches the engine nothing).
   * Absent on records written before this field existed.
   */
  readonly seq?: PaymentSeq;
}

export interface PaymentSeq {
  readonly created?: number;
  readonly authorized?: number;
  readonly denied?: number;
  readonly captured?: number;
  readonly resolved?: number;
}

/** What an on-chain payment's record carries about its voucher (the voucher itself is under `cv/<paymentId>`). */
export interface PaymentChainInfo {
  /** The voucher's EIP-712 digest: the token's `vh` claim and the `digest` of its Redeemed event. */
  readonly digest: string;
  /** The voucher's deadline (Unix seconds) = the token's expiry. */
  readonly deadline: number;
  readonly chainId: number;
  readonly settlement: string;
  /** The voucher nonce, 0x + 64 hex digits. */
  readonly nonce: string;
}

/**
 * A token's single-use state is its payment's status (the token names its payment in `pay`):
 * authorized = active, captured = redeemed, voided, expired. No record of its own, so marking
 * it used can never disagree with the capture.
 */
export type TokenState = "active" | "redeemed" | "voided" | "expired";

/** The payment a verified token names, if it really carries that token. */
export function paymentOfToken(
  read: (key: string) => Payment | undefined, token: { readonly tokenId: string; readonly paymentId?: string | undefined },
): Payment | undefined {
  const p = token.paymentId !== undefined ? read(paymentKey(token.paymentId)) : undefined;
  return p && p.tokenId === token.tokenId ? p : undefined;
}

export function tokenStateOf(p: Payment): TokenState | undefined {
  switch (p.status) {
    case "authorized": return "active";
    case "captured": return "redeemed";
    case "voided": return "voided";
    case "expired": return "expired";
    default: return undefined;
  }
}

/**
 * The signed token as issued, written once under `tt/<tokenId>`: an idempotent retry returns
 * the same one, and redemption authenticates against it. A bearer credential: never log.
 */
export const issuedTokenKey = (tokenId: string): string => `tt/${tokenId}`;

/** What an idempotency key maps to, with the request it was first used with. */
export interface IdempotencyRecord {
  readonly request: unknown;
  readonly resultId: string;
}

export interface Receipt {
  readonly paymentId: string;
  readonly tokenId: string;
  readonly merchantId: string;
  readonly capturedMinor: bigint;
  readonly releasedMinor: bigint;
  readonly currency: string;
  readonly transferId: string;
  readonly capturedAtMs: number;
}

export interface Refund {
  readonly id: string;
  readonly paymentId: string;
  readonly merchantId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly transferId: string;
  readonly createdAtMs: number;
  readonly reason?: string;
  /** Its place in the durable order of payment changes (see Payment.seq). */
  readonly seq?: number;
}

export const paymentKey = (id: string): string => `pm/${id}`;
export const refundKey = (id: string): string => `rf/${id}`;
/** Idempotency scopes: a = agent intents, m = merchant redemptions, r = merchant refunds, q = agent refund requests. */
export const idemKey = (scope: "a" | "m" | "r" | "q", ownerId: string, key: string): string => `ik/${scope}/${ownerId}/${key}`;
export const PAYMENT_PREFIX = "pm/";
/** The chain bridge's records: a payment's voucher, and sub-wallets bound to on-chain buckets. */
export const voucherKey = (paymentId: string): string => `cv/${paymentId}`;
export const CHAIN_BINDING_PREFIX = "cb/";
export const REFUND_PREFIX = "rf/";

/** Hold a little longer than the token lives, so a redemption at the last moment still finds it. */
export const HOLD_GRACE_MS = 60_000;

/** The voucher recorded for an on-chain payment, inside a command. */
export function storedVoucherIn(tx: Tx, paymentId: string): SignedVoucher | undefined {
  return tx.get<SignedVoucher>(voucherKey(paymentId));
}
