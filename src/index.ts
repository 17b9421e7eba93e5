export { AgentPay } from "./agentpay.ts";
export type { AgentPayOptions } from "./agentpay.ts";
export {
  AgentPayError, ErrorCodes, isAgentPayError, amount, parseAmount, formatAmount, CurrencyRegistry, ManualClock,
} from "./core/index.ts";
export type { Amount, Clock, ErrorCode } from "./core/index.ts";
export { Engine, LevelStore, MemoryStore } from "./engine/index.ts";
export type { Store, Tx } from "./engine/index.ts";
export { Ledger, checkLedger } from "./ledger/index.ts";
export type {
  Account, Balance, InvariantReport, LinkedOp, StatementEntry, StatementPage, Transfer, TransferInput,
} from "./ledger/index.ts";
export { Wallets } from "./wallets/index.ts";
export type { Wallet, SubWallet, PolicyInput, BudgetStatus, Verdict } from "./wallets/index.ts";
export { Approvals } from "./approvals/index.ts";
export type { ApprovalRequest, ApprovalStatus } from "./approvals/index.ts";
