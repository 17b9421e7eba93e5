export { AgentPay, verifyTokenOffline } from "./agentpay.ts";
export type { AgentPayOptions, TokensApi, PaymentApprovals } from "./agentpay.ts";
export type { NodeStatus, PostgresOptions, Role } from "./postgres/index.ts";
export {
  toWire, AgentPayError, ErrorCodes, errorCatalog, isErrorCode, isAgentPayError, amount, parseAmount, formatAmount, CurrencyRegistry, ManualClock,
} from "./core/index.ts";
export type { Amount, Clock, ErrorCode, ErrorCodeInfo } from "./core/index.ts";
export { Engine, LevelStore, LogStore, MemoryStore } from "./engine/index.ts";
export type { LogStoreOptions } from "./engine/index.ts";
export type { Store, Tx } from "./engine/index.ts";
export { Ledger, checkLedger } from "./ledger/index.ts";
export type {
  Account, Balance, InvariantReport, LinkedOp, StatementEntry, StatementPage, Transfer, TransferInput,
} from "./ledger/index.ts";
export { Wallets } from "./wallets/index.ts";
export type { Wallet, SubWallet, PolicyInput, BudgetStatus, Verdict, CreateWalletInput, CreateSubWalletInput, MoneyOptions } from "./wallets/index.ts";
export { Approvals } from "./approvals/index.ts";
export type { ApprovalRequest, ApprovalStatus } from "./approvals/index.ts";
export { Agents, Grants, signIntent, createIntentSigner, generateAgentKey, requestSignatureBody, INTENT_TYP } from "./agents/index.ts";
export type { Agent, Grant, GrantScope, SignIntentInput, RegisterAgentInput, CreateGrantInput, RequestSignatureBody } from "./agents/index.ts";
export { Merchants } from "./merchants/index.ts";
export { ApiKeys } from "./api-keys/index.ts";
export type { ApiKey, ApiKeyKind, CreateApiKeyInput, CreatedApiKey, KeyPrincipal } from "./api-keys/index.ts";
export type { Merchant } from "./merchants/index.ts";
export { TokenVerifier } from "./tokens/index.ts";
export type { Jwks, VerifiedToken } from "./tokens/index.ts";
export { EventDeliverer, WebhookAddressPolicy, verifyWebhookSignature } from "./events/index.ts";
export type { Event } from "./events/index.ts";
export { RiskEngine, defaultRuleSet, enableRules } from "./risk/index.ts";
export type { RiskDecision, RuleSet } from "./risk/index.ts";
export { AgentClient, Payments, buildPayIntent, buildVoidIntent, buildFetchTokenIntent } from "./payments/index.ts";
export type {
  AuthorizeResult, ApprovedPayment, Decision, Payment, PaymentStatus, Receipt, Refund, RiskHook, RequestPaymentInput, RedeemInput,
  RefundInput, VoidByMerchantInput, ListPaymentsQuery, PayRequestBody, VoidRequestBody, FetchTokenBody, BuildPayIntentInput,
  RefundRequest, RefundRequestStatus, RefundRequestBody,
} from "./payments/index.ts";
// The on-chain side is the `agentpay/chain` entry point; its types are named here for `pay.chain`.
export type { OnchainPayments, ChainBinding, BindSubWalletInput, ChainAnomaly, ReconcileReport } from "./chain-bridge/index.ts";
export type { SignedVoucher, Voucher } from "./chain/index.ts";
