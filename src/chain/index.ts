// src/chain: viem bindings of AgentPaySettlement (generated ABI), vouchers (EIP-712, packed encoding),
// voucher signers and the agents' keys, the settlement client with decoded errors, and a generic
// reorg-safe event watcher. The mapping of events to payments and the ledger is src/payments/onchain.ts.
export { agentPaySettlementAbi, agentPaySettlementBytecode } from "./abi.ts";
export {
  VOUCHER_TYPE_STRING, voucherTypes, settlementDomain, buildVoucher, hashVoucher, signVoucher, voucherNonceOf, voucherRefOf,
  OWNER_NONCE_FLAG, MAX_AGENT_NONCE, MAX_OWNER_NONCE_SEQ, isOwnerNonce, ownerNonceOf, ownerNonceDeadline,
  encodeEntry, encodeBatch, checkAddress, FLAG_SIGNER, FLAG_AMOUNT, FLAG_LONG_SIG, MAX_UINT256,
  isCompactEntry, encodeCompact, encodeCompactCall, REDEEM_COMPACT_SELECTOR, bucketIdOf,
} from "./voucher.ts";
export type { Voucher, SettlementDomain, SignedVoucher, Entry } from "./voucher.ts";
export { privateKeySigner, hostSigner, checkVoucherSignature } from "./signer.ts";
export type { VoucherSigner, HostSigner, ViemAccountLike, EthersSignerLike } from "./signer.ts";
export { ChainKeys, CHAIN_KEY_PREFIX, chainKeyKey } from "./keys.ts";
export type { ChainKeyInfo } from "./keys.ts";
export { CHAIN_ERROR_CODES, ChainErrorCodes, decodeChainError, decodeRevertData } from "./errors.ts";
export { SettlementClient } from "./client.ts";
export type { SettlementClientOptions, TxResult, Bucket } from "./client.ts";
export { ChainWatcher, WATCHER_PREFIX } from "./watcher.ts";
export type { ChainLog, ChainHead, LogHandler, ChainWatcherOptions, PollResult, WatcherStatus } from "./watcher.ts";
export { deploySettlementContract } from "./deploy.ts";
export type { DeploySettlementOptions, DeployedSettlement } from "./deploy.ts";
