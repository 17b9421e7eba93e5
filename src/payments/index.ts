export { Payments } from "./payments.ts";
export type { ListPaymentsQuery, RedeemInput, RefundInput, VoidByMerchantInput } from "./payments.ts";
export { AgentClient } from "./client.ts";
export type { AgentClientOptions, RequestPaymentInput } from "./client.ts";
export { allowAllRisk } from "./context.ts";
export type { PaymentsContext, RiskHook, VoucherHook, VoucherRequest, PreparedVoucher } from "./context.ts";
export type { AuthorizeResult, ApprovedPayment } from "./authorize.ts";
export { PAYMENTS_TOPIC, emitPaymentEvent } from "./effects.ts";
export {
  paymentKey, refundKey, voucherKey, storedVoucherIn, PAYMENT_PREFIX, REFUND_PREFIX, CHAIN_BINDING_PREFIX,
} from "./records.ts";
export type { Decision, Payment, PaymentChainInfo, PaymentStatus, Receipt, Refund } from "./records.ts";
export { buildPayIntent, buildVoidIntent, buildFetchTokenIntent } from "./body.ts";
export type { PayRequestBody, VoidRequestBody, FetchTokenBody, BuildPayIntentInput } from "./body.ts";
export { voidIn } from "./void.ts";
export type { RefundRequest, RefundRequestStatus, RefundRequestBody } from "./refund-requests.ts";
export type { VoidReason } from "./void.ts";
export { notifyExpiringGrants } from "./grant-expiry.ts";
