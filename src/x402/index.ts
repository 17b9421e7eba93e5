// src/x402: agentpay over HTTP 402 (the `agentpay/x402` entry point). x402 v2 (PAYMENT-REQUIRED /
// PAYMENT-SIGNATURE / PAYMENT-RESPONSE) with agentpay's schemes: the merchant's middleware
// (requirePayment, for Hono, Express and node:http), the facilitator core behind POST /x402/verify and
// /x402/settle, and the agent's fetchWithPayment, which pays within the agent's grant. Also one grant
// through other agent-payment protocols: ACP's delegated payment and AP2's IntentMandate.
export { requirePayment } from "./middleware.ts";
export type { PaymentMiddleware } from "./middleware.ts";
export { PaymentGate } from "./gate.ts";
export type { RequirePaymentOptions, GateEvent, GateRequest, GateResponse, Decision, Ticket, ServedOutcome } from "./gate.ts";
export { fetchWithPayment, payable, obtainPayment } from "./fetch.ts";
export type { X402Payer, FetchWithPaymentOptions, PaidFetch, PaidResponse, PayEvent, X402Receipt, Payable } from "./fetch.ts";
export { AgentPayFacilitator } from "./facilitator.ts";
export type { Accepted, Refusal, Settled } from "./facilitator.ts";
export { RemoteFacilitator } from "./remote.ts";
export type { AgentPayServerOptions } from "./remote.ts";
export { buildOffers, ledgerNetwork, evmNetwork, requestReference, sameOffer } from "./offers.ts";
export type { OfferInput, OnchainOffer } from "./offers.ts";
export {
  encodeHeader, decodeHeaderJson, decodePaymentSignature, decodePaymentRequired, decodePaymentResponse, encodePaymentSignature,
  encodePaymentRequired, encodePaymentResponse, MAX_SIGNATURE_HEADER_CHARS, MAX_SERVER_HEADER_CHARS,
} from "./codec.ts";
export {
  PaymentRequirementsSchema, PaymentRequiredSchema, PaymentPayloadSchema, SettleResponseSchema, VerifyResponseSchema,
  FacilitatorRequestSchema, SupportedResponseSchema, ResourceInfoSchema, TokenPayloadSchema, VoucherPayloadSchema,
} from "./schemas.ts";
export { voucherToWire, voucherFromWire, voucherPayload } from "./voucher-wire.ts";
export type { VoucherSettler } from "./voucher.ts";
export {
  X402_VERSION, PAYMENT_REQUIRED_HEADER, PAYMENT_SIGNATURE_HEADER, PAYMENT_RESPONSE_HEADER, TOKEN_SCHEME, VOUCHER_SCHEME, LEDGER_NAMESPACE,
} from "./types.ts";
export type {
  Network, ResourceInfo, PaymentRequirements, PaymentRequired, PaymentPayload, VerifyRequest, VerifyResponse, SettleRequest, SettleResponse,
  SupportedKind, SupportedResponse, TokenSchemePayload, VoucherSchemePayload, WireVoucher,
} from "./types.ts";
export {
  AcpDelegatedPayments, ACP_API_VERSIONS, AcpDelegatePaymentRequest, AcpDelegatePaymentResponse, AcpError, AcpAllowance, AcpPaymentMethodCard,
  AcpAddress, AcpRiskSignal,
} from "./acp.ts";
export type { AcpAnswer, AcpOptions, AcpErrorBody, DelegatePaymentRequestIn } from "./acp.ts";
export { grantIntentMandate, INTENT_MANDATE_DATA_KEY } from "./ap2.ts";
export type { IntentMandate, IntentMandateOptions } from "./ap2.ts";
export { tokenSchemeServer, tokenSchemeClient } from "./stock.ts";
export type { AssetAmount, Price } from "./stock.ts";
