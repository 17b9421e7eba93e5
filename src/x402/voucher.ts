// The agentpay-voucher scheme, for merchants that settle on-chain: the payload carries the spend voucher
// (EIP-712, signed by the agent's voucher key) and its twin Token Pay token (whose `vh` claim is the
// voucher's digest). Everything is checked offline: the token (JWKS), the voucher against the token,
// the offer and its own signature, and the voucher's `ref`, which commits to the payment and its
// reference (so a voucher bought for one request cannot pay for another). Then the merchant redeems it
// with the settlement contract, which lets each voucher nonce be redeemed once. Loaded (with viem) only
// when a route offers this scheme.
import type { Address, Hex } from "viem";
import { AgentPayError, isAgentPayError } from "../core/index.ts";
import { checkVoucherSignature, hashVoucher, settlementDomain, voucherRefOf } from "../chain/index.ts";
import type { Voucher } from "../chain/index.ts";
import type { VerifiedToken } from "../index.ts";
import { reasonOf } from "./facilitator.ts";
import type { OnchainOffer } from "./offers.ts";
import { VoucherPayloadSchema } from "./schemas.ts";
import type { PaymentPayload, PaymentRequirements, SettleResponse } from "./types.ts";
import { voucherFromWire } from "./voucher-wire.ts";

/**
 * Redeems a voucher on-chain for the merchant (its wallet sends the transaction): an
 * `agentpay/chain` SettlementClient built with the merchant's wallet client is one.
 */
export interface VoucherSettler {
  redeem(entry: { voucher: Voucher; signature: Hex; amount?: bigint }): Promise<{ hash: string }>;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const ZERO_HASH = `0x${"0".repeat(64)}`;

class Refused extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

async function check(onchain: OnchainOffer, merchantId: string, payload: PaymentPayload, offer: PaymentRequirements, verified: VerifiedToken, nowMs: number) {
  const p = VoucherPayloadSchema.safeParse(payload.payload);
  if (!p.success) throw new Refused("invalid_payload", "the agentpay-voucher payload is { token, voucher, signature, digest }");
  const reference = offer.extra.reference;
  if (verified.merchantId !== merchantId) throw new Refused("token_audience_mismatch", "the token was issued for another merchant");
  if (verified.voucherHash === undefined || verified.voucherHash.toLowerCase() !== p.data.digest.toLowerCase()) {
    throw new Refused("voucher_mismatch", "the token is not the voucher's twin");
  }
  const v = voucherFromWire(p.data.voucher);
  const domain = settlementDomain(onchain.chainId, onchain.settlement as Address);
  if (hashVoucher(domain, v).toLowerCase() !== p.data.digest.toLowerCase()) throw new Refused("voucher_mismatch", "the voucher does not hash to its digest on this chain and contract");
  if (v.merchant !== onchain.merchantAddress) throw new Refused("merchant_mismatch", "the voucher pays another merchant");
  if (v.token !== onchain.token) throw new Refused("amount_mismatch", "the voucher is in another token");
  if (v.callTarget !== ZERO_ADDRESS || v.callDataHash !== ZERO_HASH) throw new Refused("invalid_payload", "a call voucher does not pay for a resource");
  const amount = BigInt(offer.amount);
  if (v.cap < amount) throw new Refused("amount_mismatch", "the voucher's cap is below the price");
  if (v.deadline * 1000n <= BigInt(nowMs)) throw new Refused("chain_voucher_expired", "the voucher's deadline passed");
  if (typeof reference === "string" && v.ref.toLowerCase() !== voucherRefOf(verified.paymentId ?? "", reference).toLowerCase()) {
    throw new Refused("reference_mismatch", "the payment was made for another resource");
  }
  try {
    await checkVoucherSignature(domain, v, p.data.signature.toLowerCase(), v.agent);
  } catch (e) {
    throw new Refused(isAgentPayError(e) ? e.code.toLowerCase() : "chain_invalid_signature", "the voucher is not signed by its agent");
  }
  return { voucher: v, signature: p.data.signature.toLowerCase() as Hex, amount };
}

/** Checks the voucher payment offline and redeems it with the settlement contract (exactly once, by its nonce). */
export async function settleVoucher(
  onchain: OnchainOffer & { settler: VoucherSettler }, merchantId: string, payload: PaymentPayload, offer: PaymentRequirements,
  verified: VerifiedToken, _idempotencyKey: string, nowMs: number = Date.now(),
): Promise<{ response: SettleResponse; paymentId: string }> {
  const fail = (reason: string, message: string) => ({
    response: { success: false, errorReason: reason, errorMessage: message, transaction: "", network: offer.network, payer: verified.agentId } satisfies SettleResponse,
    paymentId: "",
  });
  let entry: Awaited<ReturnType<typeof check>>;
  try {
    entry = await check(onchain, merchantId, payload, offer, verified, nowMs);
  } catch (e) {
    if (e instanceof Refused) return fail(e.reason, e.message);
    const r = reasonOf(e);
    return fail(r.reason, r.message);
  }
  try {
    const tx = await onchain.settler.redeem({ voucher: entry.voucher, signature: entry.signature, amount: entry.amount });
    return {
      response: { success: true, transaction: tx.hash, network: offer.network, payer: verified.agentId, amount: entry.amount.toString() },
      paymentId: verified.paymentId ?? "",
    };
  } catch (e) {
    // The contract's own refusals (nonce used, frozen, …) are answers; an unreachable node is not.
    if (isAgentPayError(e) && (e.code === "CHAIN_RPC_FAILED" || e.code === "CHAIN_NO_WALLET")) {
      throw new AgentPayError("X402_FACILITATOR_UNAVAILABLE", "the chain could not be reached to redeem the voucher", { code: e.code });
    }
    const r = reasonOf(e);
    return fail(r.reason, r.message);
  }
}
