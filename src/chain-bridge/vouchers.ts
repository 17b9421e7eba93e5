// The voucher twin of a payment to a merchant that settles on-chain: built and signed before the
// authorizing command (prepare), recorded with the hold inside it (recordIn).
import type { Address } from "viem";
import { AgentPayError, validateId } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import { merchantKey } from "../merchants/index.ts";
import type { Merchant } from "../merchants/index.ts";
import type { Payment, PaymentChainInfo, PreparedVoucher, VoucherRequest } from "../payments/index.ts";
import type { SubWallet } from "../wallets/index.ts";
import { buildVoucher, hashVoucher, settlementDomain, voucherRefOf } from "../chain/index.ts";
import type { ChainKeys, SignedVoucher } from "../chain/index.ts";
import type { BridgeIndexes } from "./indexes.ts";
import { bindingKey, digestKey, nonceIndexKey, toHex32, voucherKey } from "./records.ts";
import type { ChainBinding } from "./records.ts";

/** Outside the authorizing command: for an on-chain payment, builds and signs its voucher. */
export async function prepareVoucher(
  engine: Engine, keys: ChainKeys, indexes: BridgeIndexes, input: VoucherRequest,
): Promise<PreparedVoucher | undefined> {
  const merchant = engine.read<Merchant>(merchantKey(input.merchantId));
  const b = engine.read<ChainBinding>(bindingKey(input.subWalletId));
  if (!merchant || merchant.settlement !== "chain") {
    if (b) throw new AgentPayError("CHAIN_SETTLEMENT_REQUIRED", "this sub-wallet mirrors an on-chain bucket: it pays on-chain merchants only", { subWalletId: input.subWalletId, merchantId: input.merchantId });
    return undefined;
  }
  if (!b) throw new AgentPayError("CHAIN_NOT_BOUND", "the merchant settles on-chain and the sub-wallet is not bound to a bucket", { subWalletId: input.subWalletId, merchantId: merchant.id });
  if (b.agentId !== input.agentId) throw new AgentPayError("CHAIN_AGENT_MISMATCH", "only the agent bound to the sub-wallet's bucket can pay on-chain", { subWalletId: b.subWalletId, agentId: input.agentId });
  if (input.currency !== b.currency) throw new AgentPayError("CURRENCY_MISMATCH", "the amount's currency differs from the bucket's asset", { currency: input.currency, assetCurrency: b.currency });
  const paymentId = validateId(input.paymentId, "pay", "paymentId");
  const domain = settlementDomain(b.chainId, b.settlement);
  const voucher = buildVoucher({
    owner: b.owner, agent: b.agent, merchant: merchant.chainAddress as Address, token: b.token, cap: input.amountMinor,
    deadline: BigInt(Math.floor(input.expiresAtMs / 1000)), nonce: indexes.reserveNonce(b), ref: voucherRefOf(paymentId, input.reference),
  });
  const digest = hashVoucher(domain, voucher);
  const signature = await keys.signerFor(b.agentId).signVoucher(domain, voucher);
  return { voucher, digest, signature, chainId: b.chainId, settlement: b.settlement, subWalletId: b.subWalletId, agentId: b.agentId };
}

/**
 * Inside the authorizing command: records the voucher of an on-chain payment (and its digest and
 * nonce indexes) and returns what the payment record carries; refuses a payment whose binding or
 * merchant changed since the voucher was prepared.
 */
export function recordVoucherIn(tx: Tx, p: Payment, sw: SubWallet, prepared: PreparedVoucher | undefined): PaymentChainInfo | undefined {
  const merchant = tx.get<Merchant>(merchantKey(p.merchantId));
  const b = tx.get<ChainBinding>(bindingKey(sw.id));
  if (!prepared) {
    if (merchant?.settlement === "chain") throw new AgentPayError("CHAIN_NOT_BOUND", "the merchant settles on-chain and the sub-wallet is not bound to a bucket", { subWalletId: sw.id });
    if (b) throw new AgentPayError("CHAIN_SETTLEMENT_REQUIRED", "this sub-wallet mirrors an on-chain bucket: it pays on-chain merchants only", { subWalletId: sw.id });
    return undefined;
  }
  const v = prepared.voucher;
  if (!b || !merchant || b.agent !== v.agent || b.owner !== v.owner || b.token !== v.token || b.chainId !== prepared.chainId
    || b.settlement !== prepared.settlement || merchant.chainAddress !== v.merchant || prepared.subWalletId !== sw.id || v.cap !== p.amountMinor) {
    throw new AgentPayError("INVARIANT_VIOLATION", "the prepared voucher does not match the payment", { paymentId: p.id });
  }
  const nonce = toHex32(v.nonce);
  if (tx.has(nonceIndexKey(b.chainId, b.settlement, b.owner, b.agent, nonce))) {
    throw new AgentPayError("CHAIN_NONCE_IN_USE", "the voucher's nonce is already taken; retry", { paymentId: p.id });
  }
  const stored: SignedVoucher = { voucher: v, digest: prepared.digest, signature: prepared.signature, chainId: prepared.chainId, settlement: prepared.settlement };
  tx.put(voucherKey(p.id), stored);
  tx.put(digestKey(prepared.digest), p.id);
  tx.put(nonceIndexKey(b.chainId, b.settlement, b.owner, b.agent, nonce), p.id);
  return { digest: prepared.digest, deadline: Number(v.deadline), chainId: b.chainId, settlement: b.settlement, nonce };
}
