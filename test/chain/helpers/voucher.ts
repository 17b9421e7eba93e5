// Voucher helpers shared by the chain tests and scripts/bench/gas.ts: the EIP-712 types, signing with viem,
// and the packed entry encoding that AgentPaySettlement.redeem / redeemBatch decode.
import { concatHex, numberToHex, size, type Address, type Hex, zeroAddress, zeroHash } from "viem";
import type { LocalAccount } from "viem/accounts";

export const VOUCHER_TYPE_STRING =
  "Voucher(address owner,address agent,address merchant,address token,uint256 cap,uint256 deadline,uint256 nonce,bytes32 ref,address callTarget,bytes32 callDataHash)";

export const voucherTypes = {
  Voucher: [
    { name: "owner", type: "address" },
    { name: "agent", type: "address" },
    { name: "merchant", type: "address" },
    { name: "token", type: "address" },
    { name: "cap", type: "uint256" },
    { name: "deadline", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "ref", type: "bytes32" },
    { name: "callTarget", type: "address" },
    { name: "callDataHash", type: "bytes32" },
  ],
} as const;

export interface Voucher {
  owner: Address;
  agent: Address;
  merchant: Address;
  token: Address;
  cap: bigint;
  deadline: bigint;
  nonce: bigint;
  ref: Hex;
  callTarget: Address;
  callDataHash: Hex;
}

export interface Domain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

export function settlementDomain(chainId: number, verifyingContract: Address): Domain {
  return { name: "AgentPaySettlement", version: "1", chainId, verifyingContract };
}

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

export async function signVoucher(account: LocalAccount, domain: Domain, v: Voucher): Promise<Hex> {
  return account.signTypedData({ domain, types: voucherTypes, primaryType: "Voucher", message: v });
}

export const FLAG_SIGNER = 0x01;
export const FLAG_AMOUNT = 0x02;
export const FLAG_LONG_SIG = 0x04;

export interface Entry {
  voucher: Voucher;
  signature: Hex;
  /** Amount to redeem; defaults to the cap. */
  amount?: bigint;
}

/** Encodes one packed entry. `withSigner` false omits owner and agent (same as the previous entry). */
export function encodeEntry(e: Entry, withSigner = true): Hex {
  const v = e.voucher;
  if (v.callTarget !== zeroAddress || v.callDataHash !== zeroHash) throw new Error("call vouchers use redeemAndCall");
  const amount = e.amount ?? v.cap;
  const longSig = size(e.signature) !== 65;
  const flags = (withSigner ? FLAG_SIGNER : 0) | (amount !== v.cap ? FLAG_AMOUNT : 0) | (longSig ? FLAG_LONG_SIG : 0);
  const parts: Hex[] = [numberToHex(flags, { size: 1 })];
  if (withSigner) parts.push(v.owner, v.agent);
  parts.push(numberToHex(v.cap, { size: 32 }));
  if (amount !== v.cap) parts.push(numberToHex(amount, { size: 32 }));
  parts.push(numberToHex(v.deadline, { size: 5 }), numberToHex(v.nonce, { size: 32 }), v.ref);
  if (longSig) parts.push(numberToHex(size(e.signature), { size: 2 }));
  parts.push(e.signature);
  return concatHex(parts);
}

/** Encodes a batch, writing owner and agent only when they change. */
export function encodeBatch(entries: Entry[]): Hex {
  let prev = "";
  return concatHex(
    entries.map((e) => {
      const key = `${e.voucher.owner}:${e.voucher.agent}`.toLowerCase();
      const withSigner = key !== prev;
      prev = key;
      return encodeEntry(e, withSigner);
    }),
  );
}
