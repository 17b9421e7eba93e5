export { Payments } from "./payments.ts";
export type { ListPaymentsQuery, RedeemInput, RefundInput } from "./payments.ts";
export { AgentClient } from "./client.ts";
export type { AgentClientOptions, RequestPaymentInput } from "./client.ts";
export { allowAllRisk } from "./context.ts";
export type { PaymentsContext, RiskHook } from "./context.ts";
export type { AuthorizeResult } from "./authorize.ts";
export { PAYMENTS_TOPIC } from "./effects.ts";
export type { Decision, Payment, PaymentStatus, Receipt, Refund } from "./records.ts";
export type { PayRequestBody } from "./body.ts";
export { notifyExpiringGrants } from "./grant-expiry.ts";
export { OnchainPayments, voucherIn, mainAccountIdOf, externalAccountIdOf, bindingKey, voucherKey, digestKey, BINDING_PREFIX, ANOMALY_PREFIX } from "./onchain.ts";
export type {
  ChainBinding, BindSubWalletInput, PreparedVoucher, VoucherPreparer, ChainAnomaly, ReconcileDifference, ReconcileReport, CreateWatcherOptions,
  PaymentChainInfo,
} from "./onchain.ts";
