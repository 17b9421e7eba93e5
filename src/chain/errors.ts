// The contract's custom errors as AgentPayErrors with stable codes and the decoded arguments as details.
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, isHex, parseAbi } from "viem";
import type { Hex } from "viem";
import { AgentPayError, isAgentPayError } from "../core/index.ts";
import type { ErrorCode } from "../core/index.ts";
import { agentPaySettlementAbi } from "./abi.ts";

/** Contract error name → stable code. Codes are public API: never rename, only add. */
export const CHAIN_ERROR_CODES = {
  InvalidConfig: "CHAIN_INVALID_CONFIG",
  ZeroAddress: "CHAIN_ZERO_ADDRESS",
  ZeroAmount: "CHAIN_ZERO_AMOUNT",
  AmountTooLarge: "CHAIN_AMOUNT_TOO_LARGE",
  InsufficientBalance: "CHAIN_INSUFFICIENT_BALANCE",
  NotMerchant: "CHAIN_NOT_MERCHANT",
  NotOwnerOrAgent: "CHAIN_NOT_OWNER_OR_AGENT",
  InvalidSignature: "CHAIN_INVALID_SIGNATURE",
  VoucherExpired: "CHAIN_VOUCHER_EXPIRED",
  VoucherNotYetValid: "CHAIN_VOUCHER_NOT_YET_VALID",
  OverCap: "CHAIN_OVER_CAP",
  NonceUsed: "CHAIN_NONCE_USED",
  AgentFrozen: "CHAIN_AGENT_FROZEN",
  MalformedVouchers: "CHAIN_MALFORMED_VOUCHERS",
  NoRelease: "CHAIN_NO_RELEASE",
  ReleaseNotReady: "CHAIN_RELEASE_NOT_READY",
  NotRedeemed: "CHAIN_NOT_REDEEMED",
  RefundExceedsRedeemed: "CHAIN_REFUND_EXCEEDS_REDEEMED",
  InvalidCall: "CHAIN_INVALID_CALL",
  TransferAccountingMismatch: "CHAIN_TRANSFER_ACCOUNTING_MISMATCH",
  NotNonceSigner: "CHAIN_NOT_NONCE_SIGNER",
  VoucherLive: "CHAIN_VOUCHER_LIVE",
  OwnerNonceMismatch: "CHAIN_OWNER_NONCE_MISMATCH",
  // the token's own ERC-6093 errors, bubbled up through deposits and refunds
  ERC20InsufficientAllowance: "CHAIN_TOKEN_INSUFFICIENT_ALLOWANCE",
  ERC20InsufficientBalance: "CHAIN_TOKEN_INSUFFICIENT_BALANCE",
} as const;

const erc20Errors = parseAbi([
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
]);
const decodeAbi = [...agentPaySettlementAbi, ...erc20Errors];

/** Every chain code the library can throw (the decoded ones above plus these). */
export const ChainErrorCodes = [
  ...Object.values(CHAIN_ERROR_CODES),
  "CHAIN_REVERTED",          // a revert the settlement ABI does not name (e.g. the token's own error); details.data is the raw data
  "CHAIN_TX_FAILED",         // the transaction was mined but failed
  "CHAIN_RPC_FAILED",        // the node could not be reached or refused the request
  "CHAIN_NO_WALLET",         // a write without a wallet client / account
  "CHAIN_WRONG_CHAIN",       // the client's chain is not the one expected
  "CHAIN_NO_AGENT_KEY",
  "CHAIN_SIGNER_MISSING",
  "CHAIN_AGENT_KEY_EXISTS",
  "CHAIN_NOT_BOUND",
  "CHAIN_ALREADY_BOUND",
  "CHAIN_AGENT_MISMATCH",
  "CHAIN_SETTLEMENT_REQUIRED",
  "CHAIN_VOUCHER_OUTSTANDING",
  "CHAIN_PAYMENT_ON_CHAIN",
  "CHAIN_REORG_TOO_DEEP",
  "CHAIN_REORG_CONFLICT",
  "CHAIN_WATCHER_MISMATCH",
] as const;

function jsonArgs(names: readonly string[], args: readonly unknown[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  (args ?? []).forEach((a, i) => {
    out[names[i] ?? `arg${i}`] = typeof a === "string" ? a.toLowerCase() : a;
  });
  return out;
}

const INPUT_NAMES = new Map<string, readonly string[]>(
  decodeAbi.filter((x) => x.type === "error").map((x) => [x.name, x.inputs.map((i) => i.name)] as const),
);

/** Decodes raw revert data against the settlement ABI. */
export function decodeRevertData(data: Hex): AgentPayError {
  try {
    const r = decodeErrorResult({ abi: decodeAbi, data });
    return fromErrorName(r.errorName, r.args as readonly unknown[] | undefined);
  } catch {
    return new AgentPayError("CHAIN_REVERTED", "the transaction reverted", { data: data.slice(0, 2 + 2 * 4 + 2 * 256) });
  }
}

function fromErrorName(name: string, args: readonly unknown[] | undefined): AgentPayError {
  const code = (CHAIN_ERROR_CODES as Record<string, ErrorCode | undefined>)[name];
  const details = { error: name, ...jsonArgs(INPUT_NAMES.get(name) ?? [], args) };
  if (code) return new AgentPayError(code, `the settlement contract refused: ${name}`, details);
  return new AgentPayError("CHAIN_REVERTED", `the transaction reverted: ${name}`, details);
}

/**
 * Any error from viem (simulation, write, read) → an AgentPayError: the contract's custom errors
 * by their stable code with their decoded arguments; anything else CHAIN_RPC_FAILED. Never puts the
 * RPC URL or request bodies into the result (they can carry API keys).
 */
export function decodeChainError(e: unknown): AgentPayError {
  if (isAgentPayError(e)) return e;
  if (e instanceof BaseError) {
    const reverted = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (reverted) {
      if (reverted.data?.errorName) {
        const err = fromErrorName(reverted.data.errorName, reverted.data.args as readonly unknown[] | undefined);
        return new AgentPayError(err.code, err.message, err.details, { cause: e });
      }
      if (reverted.raw && isHex(reverted.raw)) return decodeRevertData(reverted.raw);
      return new AgentPayError("CHAIN_REVERTED", "the transaction reverted", { reason: reverted.reason ?? null }, { cause: e });
    }
    // Some nodes report the revert data only on the inner RPC error.
    const withData = e.walk((x) => typeof (x as { data?: unknown }).data === "string" && isHex((x as { data: string }).data)) as { data?: Hex } | null;
    if (withData?.data && withData.data.length >= 10) return decodeRevertData(withData.data);
    // No cause attached: viem's request errors carry the RPC URL, which may hold an API key.
    return new AgentPayError("CHAIN_RPC_FAILED", `the chain request failed: ${e.shortMessage.split("\n")[0]!.slice(0, 200)}`, { name: e.name });
  }
  return new AgentPayError("CHAIN_RPC_FAILED", "the chain request failed", { name: e instanceof Error ? e.name : typeof e });
}
