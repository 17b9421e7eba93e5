// Vouchers: the EIP-712 type of AgentPaySettlement, building, hashing (identical to the contract's
// `hashVoucher`), the packed entry / batch encoding that `redeem` and `redeemBatch` decode, and the compact
// calldata of `redeemCompact`.
import {
  concatHex, encodeAbiParameters, hashTypedData, isAddress, isHex, keccak256, numberToHex, size, stringToHex, toFunctionSelector, zeroAddress, zeroHash,
} from "viem";
import type { Address, Hex } from "viem";
import { AgentPayError } from "../core/index.ts";

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

/** A voucher as the contract sees it (`AgentPaySettlement.Voucher`). */
export interface Voucher {
  owner: Address;
  agent: Address;
  merchant: Address;
  token: Address;
  /** The most the merchant may take, in the token's smallest unit. */
  cap: bigint;
  /** Unix seconds, inclusive. */
  deadline: bigint;
  /**
   * Unordered, per (owner, agent), and split by signer: below 2**255 the agent's nonces (only an agent
   * signature is valid for them), from 2**255 the owner's, which carry the voucher's deadline in bits
   * 215-254 (`ownerNonceOf`). Each signer cancels only its own.
   */
  nonce: bigint;
  /** The order hash, opaque to the contract. */
  ref: Hex;
  callTarget: Address;
  callDataHash: Hex;
}

/** The EIP-712 domain of one deployment on one chain. */
export interface SettlementDomain {
  name: "AgentPaySettlement";
  version: "1";
  chainId: number;
  verifyingContract: Address;
}

/** A voucher, its EIP-712 digest and the 65-byte signature (r‖s‖v) of its owner or agent. */
export interface SignedVoucher {
  readonly voucher: Voucher;
  readonly digest: Hex;
  readonly signature: Hex;
  readonly chainId: number;
  readonly settlement: Address;
}

export const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_UINT40 = (1n << 40n) - 1n;

export function settlementDomain(chainId: number, verifyingContract: Address): SettlementDomain {
  if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new AgentPayError("INVALID_INPUT", "chainId must be a positive integer", { field: "chainId" });
  return { name: "AgentPaySettlement", version: "1", chainId, verifyingContract: checkAddress(verifyingContract, "settlement") };
}

export function checkAddress(v: unknown, field: string): Address {
  if (typeof v !== "string" || !isAddress(v, { strict: false })) {
    throw new AgentPayError("INVALID_INPUT", `${field} must be a 0x address of 20 bytes`, { field });
  }
  return v.toLowerCase() as Address;
}

function checkWord(v: unknown, field: string): Hex {
  if (typeof v !== "string" || !isHex(v, { strict: true }) || v.length !== 66) {
    throw new AgentPayError("INVALID_INPUT", `${field} must be 0x and 64 hex digits`, { field });
  }
  return v.toLowerCase() as Hex;
}

function checkUint(v: unknown, field: string, max = MAX_UINT256): bigint {
  if (typeof v !== "bigint" || v < 0n || v > max) throw new AgentPayError("INVALID_INPUT", `${field} must be a bigint from 0 to ${max}`, { field });
  return v;
}

/**
 * A voucher from its fields, validated (addresses, ranges: the deadline must fit the packed uint40);
 * the call fields default to zero (a payment to the merchant). Addresses come out in lower case.
 */
export function buildVoucher(fields: Partial<Voucher> & Pick<Voucher, "owner" | "agent" | "merchant" | "token" | "cap" | "deadline" | "nonce">): Voucher {
  if (fields === null || typeof fields !== "object") throw new AgentPayError("INVALID_INPUT", "voucher fields must be an object");
  const v: Voucher = {
    owner: checkAddress(fields.owner, "owner"),
    agent: checkAddress(fields.agent, "agent"),
    merchant: checkAddress(fields.merchant, "merchant"),
    token: checkAddress(fields.token, "token"),
    cap: checkUint(fields.cap, "cap"),
    deadline: checkUint(fields.deadline, "deadline", MAX_UINT40),
    nonce: checkUint(fields.nonce, "nonce"),
    ref: checkWord(fields.ref ?? zeroHash, "ref"),
    callTarget: checkAddress(fields.callTarget ?? zeroAddress, "callTarget"),
    callDataHash: checkWord(fields.callDataHash ?? zeroHash, "callDataHash"),
  };
  if (v.owner === zeroAddress || v.agent === zeroAddress) throw new AgentPayError("INVALID_INPUT", "owner and agent may not be the zero address", { field: "owner" });
  if (v.cap === 0n) throw new AgentPayError("INVALID_INPUT", "cap must be greater than zero", { field: "cap" });
  if (isOwnerNonce(v.nonce) && ownerNonceDeadline(v.nonce) !== v.deadline) {
    throw new AgentPayError("INVALID_INPUT", "an owner nonce (from 2**255) must carry the voucher's deadline: use ownerNonceOf", { field: "nonce" });
  }
  return v;
}

/** The EIP-712 digest: what the contract's `hashVoucher(v)` returns and what the signer signs. */
export function hashVoucher(domain: SettlementDomain, v: Voucher): Hex {
  return hashTypedData({ domain, types: voucherTypes, primaryType: "Voucher", message: v });
}

/** The first owner nonce: nonces from here on are the owner's (the top bit set), those below the agent's. */
export const OWNER_NONCE_FLAG = 1n << 255n;
/** The largest agent nonce. */
export const MAX_AGENT_NONCE = OWNER_NONCE_FLAG - 1n;
const OWNER_NONCE_SEQ_BITS = 215n;
/** The largest sequence number `ownerNonceOf` takes. */
export const MAX_OWNER_NONCE_SEQ = (1n << OWNER_NONCE_SEQ_BITS) - 1n;

/** Whether a nonce is the owner's (only the owner's signature is valid for it) rather than the agent's. */
export function isOwnerNonce(nonce: bigint): boolean {
  return nonce >= OWNER_NONCE_FLAG;
}

/**
 * The nonce of a voucher the owner signs: the top bit, the voucher's deadline (uint40) in bits 215-254 and
 * `seq` below. The contract refuses an owner-signed voucher whose nonce does not carry its deadline; that is
 * how it knows, from a nonce alone, when the owner may cancel it (before its window opens or after it closes).
 */
export function ownerNonceOf(deadline: bigint, seq: bigint): bigint {
  checkUint(deadline, "deadline", MAX_UINT40);
  checkUint(seq, "seq", MAX_OWNER_NONCE_SEQ);
  return OWNER_NONCE_FLAG | (deadline << OWNER_NONCE_SEQ_BITS) | seq;
}

/** The deadline an owner nonce carries. */
export function ownerNonceDeadline(nonce: bigint): bigint {
  return (nonce >> OWNER_NONCE_SEQ_BITS) & MAX_UINT40;
}

/** The voucher nonce of a payment (an agent nonce): unique per (owner, agent) because payment ids are unique. */
export function voucherNonceOf(paymentId: string): bigint {
  return BigInt(keccak256(stringToHex(`agentpay:voucher-nonce:${paymentId}`))) & MAX_AGENT_NONCE;
}

/** The voucher's `ref`: a hash of the payment id and the agent's reference (order id). */
export function voucherRefOf(paymentId: string, reference?: string): Hex {
  return keccak256(stringToHex(`agentpay:voucher-ref:${paymentId}:${reference ?? ""}`));
}

export const FLAG_SIGNER = 0x01;
export const FLAG_AMOUNT = 0x02;
export const FLAG_LONG_SIG = 0x04;

/** One voucher to redeem: the voucher, its signature and the amount (default the cap). */
export interface Entry {
  voucher: Voucher;
  signature: Hex;
  amount?: bigint;
}

/** Encodes one packed entry (contracts/README.md). `withSigner` false omits owner and agent (batch: same as before). */
export function encodeEntry(e: Entry, withSigner = true): Hex {
  const v = e.voucher;
  if (v.callTarget !== zeroAddress && v.callTarget.toLowerCase() !== zeroAddress) throw new AgentPayError("INVALID_INPUT", "call vouchers are redeemed with redeemAndCall", { field: "callTarget" });
  if (v.callDataHash !== zeroHash && v.callDataHash.toLowerCase() !== zeroHash) throw new AgentPayError("INVALID_INPUT", "call vouchers are redeemed with redeemAndCall", { field: "callDataHash" });
  if (typeof e.signature !== "string" || !isHex(e.signature, { strict: true }) || e.signature.length % 2 !== 0 || size(e.signature) > 0xffff) {
    throw new AgentPayError("INVALID_INPUT", "signature must be 0-65535 bytes of hex", { field: "signature" });
  }
  const amount = e.amount ?? v.cap;
  checkUint(amount, "amount");
  checkUint(v.deadline, "deadline", MAX_UINT40);
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

const MAX_UINT128 = (1n << 128n) - 1n;

/**
 * Whether `redeemCompact` can take this entry: a payment voucher (no call) redeemed for its whole cap
 * (below 2**128) with a 65-byte signature. Anything else goes through `redeem`.
 */
export function isCompactEntry(e: Entry): boolean {
  const v = e.voucher;
  // Length in characters: size() rounds an odd number of hex digits up.
  return (e.amount === undefined || e.amount === v.cap) && typeof e.signature === "string" && isHex(e.signature, { strict: true }) && e.signature.length === 132
    && v.cap > 0n && v.cap <= MAX_UINT128 && v.deadline >= 0n && v.deadline <= MAX_UINT40 && v.nonce >= 0n && v.nonce <= MAX_UINT256
    && v.callTarget.toLowerCase() === zeroAddress && v.callDataHash.toLowerCase() === zeroHash;
}

/**
 * The 210 bytes that follow `redeemCompact()`'s selector (contracts/README.md): token ‖ owner ‖ agent ‖
 * cap (uint128) ‖ deadline (uint40) ‖ nonce ‖ ref ‖ r ‖ s ‖ v. Refuses entries `isCompactEntry` rejects.
 */
export function encodeCompact(e: Entry): Hex {
  if (!isCompactEntry(e)) {
    throw new AgentPayError("INVALID_INPUT", "redeemCompact takes a payment voucher for its whole cap (< 2**128) with a 65-byte signature", { field: "voucher" });
  }
  const v = e.voucher;
  return concatHex([
    checkAddress(v.token, "token"), checkAddress(v.owner, "owner"), checkAddress(v.agent, "agent"),
    numberToHex(v.cap, { size: 16 }), numberToHex(v.deadline, { size: 5 }), numberToHex(v.nonce, { size: 32 }), checkWord(v.ref, "ref"),
    e.signature,
  ]);
}

/** The full calldata of `redeemCompact` for an entry: the selector, then `encodeCompact(e)`. */
export function encodeCompactCall(e: Entry): Hex {
  return concatHex([REDEEM_COMPACT_SELECTOR, encodeCompact(e)]);
}

/** `bytes4(keccak256("redeemCompact()"))`. */
export const REDEEM_COMPACT_SELECTOR = toFunctionSelector("redeemCompact()");

/**
 * The id of an (owner, agent, token) bucket, `keccak256(abi.encode(owner, agent, token))`: the `bucket`
 * topic of the Redeemed event (the contract's `bucketIdOf`). Lower-case hex.
 */
export function bucketIdOf(owner: Address, agent: Address, token: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "address" }], [
    checkAddress(owner, "owner"), checkAddress(agent, "agent"), checkAddress(token, "token"),
  ]));
}

/** Encodes a batch, writing owner and agent only when they change from the previous entry. */
export function encodeBatch(entries: readonly Entry[]): Hex {
  if (!Array.isArray(entries) || entries.length === 0) throw new AgentPayError("INVALID_INPUT", "a batch needs at least one entry", { field: "entries" });
  let prev = "";
  return concatHex(entries.map((e) => {
    const key = `${e.voucher.owner}:${e.voucher.agent}`.toLowerCase();
    const withSigner = key !== prev;
    prev = key;
    return encodeEntry(e, withSigner);
  }));
}

/**
 * Signs a voucher with a viem account (anything with `signTypedData`), unchecked: the raw primitive.
 * The payment flow goes through a VoucherSigner (signer.ts), which also verifies the result.
 */
export async function signVoucher(
  account: { signTypedData(args: { domain: SettlementDomain; types: typeof voucherTypes; primaryType: "Voucher"; message: Voucher }): Promise<Hex> },
  domain: SettlementDomain, v: Voucher,
): Promise<Hex> {
  if (typeof account?.signTypedData !== "function") throw new AgentPayError("INVALID_INPUT", "account must be able to sign typed data (a viem account)", { field: "account" });
  return account.signTypedData({ domain, types: voucherTypes, primaryType: "Voucher", message: v });
}
