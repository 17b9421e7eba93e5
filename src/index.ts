export { AgentPay, verifyTokenOffline } from "./agentpay.ts";
export type { AgentPayOptions, TokensApi } from "./agentpay.ts";
export type { NodeStatus, PostgresOptions, Role } from "./postgres/index.ts";
export {
  AgentPayError, ErrorCodes, isAgentPayError, amount, parseAmount, formatAmount, CurrencyRegistry, ManualClock,
} from "./core/index.ts";
export type { Amount, Clock, ErrorCode } from "./core/index.ts";
export { Engine, LevelStore, LogStore, MemoryStore } from "./engine/index.ts";
export type { LogStoreOptions } from "./engine/index.ts";
export type { Store, Tx } from "./engine/index.ts";
export { Ledger, checkLedger } from "./ledger/index.ts";
export type {
  Account, Balance, InvariantReport, LinkedOp, StatementEntry, StatementPage, Transfer, TransferInput,
} from "./ledger/index.ts";
export { Wallets } from "./wallets/index.ts";
export type { Wallet, SubWallet, PolicyInput, BudgetStatus, Verdict } from "./wallets/index.ts";
export { Approvals } from "./approvals/index.ts";
export type { ApprovalRequest, ApprovalStatus } from "./approvals/index.ts";
export { Agents, Grants, signIntent } from "./agents/index.ts";
export type { Agent, Grant, GrantScope } from "./agents/index.ts";
export { Merchants } from "./merchants/index.ts";
export type { Merchant } from "./merchants/index.ts";
export { TokenVerifier } from "./tokens/index.ts";
export type { Jwks, VerifiedToken } from "./tokens/index.ts";
export { EventDeliverer, verifyWebhookSignature } from "./events/index.ts";
export type { Event } from "./events/index.ts";
export { RiskEngine, defaultRuleSet, enableRules } from "./risk/index.ts";
export type { RiskDecision, RuleSet } from "./risk/index.ts";
export { AgentClient, Payments, OnchainPayments } from "./payments/index.ts";
export type { ChainBinding, BindSubWalletInput, ChainAnomaly, ReconcileDifference, ReconcileReport } from "./payments/index.ts";
export {
  SettlementClient, ChainWatcher, ChainKeys, agentPaySettlementAbi, agentPaySettlementBytecode, buildVoucher, hashVoucher, encodeEntry,
  encodeBatch, settlementDomain, decodeChainError, ChainErrorCodes,
} from "./chain/index.ts";
export type { Voucher, SignedVoucher, Entry, SettlementDomain, ChainLog, LogHandler, PollResult, WatcherStatus, HostSigner } from "./chain/index.ts";
export type { AuthorizeResult, Decision, Payment, PaymentStatus, Receipt, Refund, RiskHook } from "./payments/index.ts";
