// Voucher helpers shared by the chain tests and scripts/bench/gas.ts. The logic lives in src/chain
// (EIP-712 types, signing, the packed encoding); this file only adds test defaults and keeps the old names.
import { zeroAddress, zeroHash } from "viem";
export {
  VOUCHER_TYPE_STRING, voucherTypes, settlementDomain, signVoucher, encodeEntry, encodeBatch, FLAG_SIGNER, FLAG_AMOUNT, FLAG_LONG_SIG,
  encodeCompact, encodeCompactCall, isCompactEntry, bucketIdOf, REDEEM_COMPACT_SELECTOR, ownerNonceOf, OWNER_NONCE_FLAG,
} from "../../../src/chain/index.ts";
export type { Voucher, Entry, SettlementDomain as Domain } from "../../../src/chain/index.ts";
import type { Voucher } from "../../../src/chain/index.ts";

/** A voucher with test defaults, NOT validated (the attack tests build invalid ones on purpose). */
export function voucher(fields: Partial<Voucher> & Pick<Voucher, "owner" | "agent" | "merchant" | "token">): Voucher {
  return {
    cap: 1_000_000n,
    deadline: 0n,
    nonce: 0n,
    ref: zeroHash,
    callTarget: zeroAddress,
    callDataHash: zeroHash,
    ...fields,
  };
}
