// Who signs vouchers: a key the library generated (kept through the engine, see keys.ts), or a
// host-supplied viem Account or ethers Signer. Whatever the source, the result is checked to be
// the 65-byte low-s signature of the expected address before it leaves the library.
import { hexToBigInt, isAddressEqual, recoverTypedDataAddress, size, slice } from "viem";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { AgentPayError } from "../core/index.ts";
import { voucherTypes } from "./voucher.ts";
import type { SettlementDomain, Voucher } from "./voucher.ts";

export interface VoucherSigner {
  readonly address: Address;
  /** Signs the voucher's EIP-712 digest; returns r‖s‖v (65 bytes). */
  signVoucher(domain: SettlementDomain, v: Voucher): Promise<Hex>;
  /** "library": a key agentpay generated and keeps; "host": supplied by the host at runtime. */
  readonly kind: "library" | "host";
}

/** The part of a viem Account a signer needs (a LocalAccount, e.g. privateKeyToAccount or a custom toAccount). */
export interface ViemAccountLike {
  readonly address: Address;
  signTypedData(args: { domain: SettlementDomain; types: typeof voucherTypes; primaryType: "Voucher"; message: Voucher }): Promise<Hex>;
}

/** The part of an ethers v6 Signer a signer needs (Wallet, JsonRpcSigner, HDNodeWallet…). */
export interface EthersSignerLike {
  getAddress(): Promise<string>;
  signTypedData(domain: Record<string, unknown>, types: Record<string, Array<{ name: string; type: string }>>, value: Record<string, unknown>): Promise<string>;
}

export type HostSigner = ViemAccountLike | EthersSignerLike;

const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e73_57a4501ddfe92f46681b20a0n;

/** Checks a signature is what the contract accepts from `address` for `digest`'s voucher. */
export async function checkVoucherSignature(domain: SettlementDomain, v: Voucher, signature: unknown, address: Address): Promise<Hex> {
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new AgentPayError("CHAIN_INVALID_SIGNATURE", "the signer did not return a 65-byte signature", { signer: address });
  }
  const sig = signature.toLowerCase() as Hex;
  const s = hexToBigInt(slice(sig, 32, 64));
  const vByte = Number(hexToBigInt(slice(sig, 64, 65)));
  if (s > HALF_ORDER || (vByte !== 27 && vByte !== 28) || size(sig) !== 65) {
    throw new AgentPayError("CHAIN_INVALID_SIGNATURE", "the signature is not a canonical (low-s, v 27/28) ECDSA signature", { signer: address });
  }
  let recovered: Address;
  try {
    recovered = await recoverTypedDataAddress({ domain, types: voucherTypes, primaryType: "Voucher", message: v, signature: sig });
  } catch (e) {
    throw new AgentPayError("CHAIN_INVALID_SIGNATURE", "the signature does not recover", { signer: address }, { cause: e });
  }
  if (!isAddressEqual(recovered, address)) {
    throw new AgentPayError("CHAIN_INVALID_SIGNATURE", "the signature is not the expected signer's", { signer: address, recovered });
  }
  return sig;
}

/** A signer over a raw private key. The key stays in a closure: nothing prints it. */
export function privateKeySigner(privateKey: Hex): VoucherSigner {
  const account = privateKeyToAccount(privateKey);
  const signer: VoucherSigner = {
    address: account.address.toLowerCase() as Address,
    kind: "library",
    signVoucher: (domain, v) => account.signTypedData({ domain, types: voucherTypes, primaryType: "Voucher", message: v }),
  };
  return Object.freeze(signer);
}

function isEthers(x: unknown): x is EthersSignerLike {
  return typeof x === "object" && x !== null && typeof (x as EthersSignerLike).getAddress === "function"
    && typeof (x as EthersSignerLike).signTypedData === "function";
}

function isViem(x: unknown): x is ViemAccountLike {
  return typeof x === "object" && x !== null && typeof (x as ViemAccountLike).address === "string"
    && typeof (x as ViemAccountLike).signTypedData === "function";
}

/**
 * Wraps a host-supplied viem Account or ethers Signer. Every signature it produces is verified
 * (recovers to its address, canonical form) before use: CHAIN_INVALID_SIGNATURE otherwise.
 */
export async function hostSigner(signer: HostSigner): Promise<VoucherSigner> {
  // ethers first: an ethers Wallet also has `address` and a (differently shaped) signTypedData.
  if (isEthers(signer)) {
    const raw = await signer.getAddress();
    if (typeof raw !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(raw)) throw new AgentPayError("INVALID_INPUT", "the ethers signer has no valid address", { field: "signer" });
    const address = raw.toLowerCase() as Address;
    return Object.freeze({
      address, kind: "host" as const,
      signVoucher: async (domain: SettlementDomain, v: Voucher) => {
        // ethers takes the types without EIP712Domain and derives the primary type.
        const types = { Voucher: voucherTypes.Voucher.map((f) => ({ name: f.name, type: f.type })) };
        const sig = await signer.signTypedData({ ...domain }, types, { ...v });
        return checkVoucherSignature(domain, v, sig, address);
      },
    });
  }
  if (isViem(signer)) {
    const address = signer.address.toLowerCase() as Address;
    return Object.freeze({
      address, kind: "host" as const,
      signVoucher: async (domain: SettlementDomain, v: Voucher) =>
        checkVoucherSignature(domain, v, await signer.signTypedData({ domain, types: voucherTypes, primaryType: "Voucher", message: v }), address),
    });
  }
  throw new AgentPayError("INVALID_INPUT", "signer must be a viem Account or an ethers Signer", { field: "signer" });
}
