// src/chain-bridge: the payment flow's on-chain side (the `agentpay/chain` entry point). Binds
// sub-wallets to on-chain buckets, twins each on-chain payment's token with a voucher, maps the
// settlement contract's events into the ledger and reconciles both sides. Loaded only when a
// program imports `agentpay/chain` or opens with `{ chain: true }`: the core never loads viem.
export { OnchainPayments } from "./bridge.ts";
export type { CreateWatcherOptions, OnchainOptions } from "./bridge.ts";
export type { ReconcileOptions, ReadClient } from "./reconcile.ts";
export { mainAccountIdOf, externalAccountIdOf, bindingKey, digestKey, BINDING_PREFIX, ANOMALY_PREFIX } from "./records.ts";
export type { ChainBinding, BindSubWalletInput, ChainAnomaly, ReconcileDifference, ReconcileReport } from "./records.ts";
// The contract bindings, vouchers, signers and watcher (src/chain), for merchants and operators.
export {
  agentPaySettlementAbi, agentPaySettlementBytecode, SettlementClient, ChainWatcher, ChainKeys, buildVoucher, hashVoucher,
  signVoucher, voucherNonceOf, voucherRefOf, encodeEntry, encodeBatch, settlementDomain, voucherTypes, VOUCHER_TYPE_STRING,
  decodeChainError, decodeRevertData, ChainErrorCodes, CHAIN_ERROR_CODES, privateKeySigner, hostSigner, checkVoucherSignature,
  deploySettlementContract, bucketIdOf,
} from "../chain/index.ts";
export type {
  Voucher, SignedVoucher, Entry, SettlementDomain, ChainLog, LogHandler, PollResult, WatcherStatus, HostSigner, VoucherSigner,
  SettlementClientOptions, TxResult, Bucket, ChainWatcherOptions, ChainHead, DeploySettlementOptions, DeployedSettlement, ChainKeyInfo,
} from "../chain/index.ts";
