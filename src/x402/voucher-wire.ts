// Vouchers on the wire of the agentpay-voucher scheme (uint256 fields as decimal strings). No viem here:
// the agent's side builds the payload without loading the chain bindings.
import type { SignedVoucher, Voucher } from "../index.ts";
import type { WireVoucher } from "./types.ts";

export function voucherToWire(v: Voucher): WireVoucher {
  return {
    owner: v.owner, agent: v.agent, merchant: v.merchant, token: v.token, cap: v.cap.toString(), deadline: v.deadline.toString(),
    nonce: v.nonce.toString(), ref: v.ref, callTarget: v.callTarget, callDataHash: v.callDataHash,
  };
}

export function voucherFromWire(w: WireVoucher): Voucher {
  const a = (x: string) => x.toLowerCase() as Voucher["owner"];
  return {
    owner: a(w.owner), agent: a(w.agent), merchant: a(w.merchant), token: a(w.token), cap: BigInt(w.cap), deadline: BigInt(w.deadline),
    nonce: BigInt(w.nonce), ref: w.ref.toLowerCase() as Voucher["ref"], callTarget: a(w.callTarget), callDataHash: w.callDataHash.toLowerCase() as Voucher["ref"],
  };
}

/** The scheme's payload for a payment's voucher and its twin token. */
export function voucherPayload(token: string, signed: SignedVoucher): Record<string, unknown> {
  return { token, voucher: voucherToWire(signed.voucher), signature: signed.signature, digest: signed.digest };
}
