// Refund requests: an agent asks the merchant to refund (part of) one of its captured payments; the
// merchant sees it (webhook `refund.requested` and the API) and grants it (a refund, in the same
// command) or declines it. The agent needs the grant scope `refund:request` on the payment's sub-wallet.
import { AgentPayError, newId, parseAmount, sameBody, validateId, validateKey } from "../core/index.ts";
import type { CurrencyRegistry } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { checkGrant } from "../agents/index.ts";
import type { VerifiedIntent } from "../agents/index.ts";
import type { PaymentsContext } from "./context.ts";
import { emitPaymentEvent } from "./effects.ts";
import { idemKey, paymentKey } from "./records.ts";
import type { IdempotencyRecord, Payment, Refund } from "./records.ts";
import { refundIn } from "./refund.ts";

export type RefundRequestStatus = "pending" | "granted" | "declined";

export interface RefundRequest {
  readonly id: string;
  readonly paymentId: string;
  readonly merchantId: string;
  readonly agentId: string;
  readonly subWalletId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly reason?: string;
  readonly status: RefundRequestStatus;
  readonly createdAtMs: number;
  readonly resolvedAtMs?: number;
  /** The refund that granted it. */
  readonly refundId?: string;
  /** Why the merchant declined. */
  readonly declineReason?: string;
}

/** What an agent signs to ask for a refund. */
export interface RefundRequestBody {
  action: "refund_request";
  paymentId: string;
  amount: string;
  currency: string;
  reason?: string;
  idempotencyKey: string;
}

export const REFUND_REQUEST_PREFIX = "rq/";
export const refundRequestKey = (id: string): string => `${REFUND_REQUEST_PREFIX}${id}`;
const MAX_REASON = 500;
/** Pending requests per payment: a loop of requests cannot flood the merchant. */
const MAX_PENDING_PER_PAYMENT = 5;

function reasonOf(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_REASON || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(v)) {
    throw new AgentPayError("INVALID_INPUT", `${field} must be 1-${MAX_REASON} printable characters`, { field });
  }
  return v;
}

export function parseRefundRequestBody(body: unknown, registry: CurrencyRegistry): {
  paymentId: string; amountMinor: bigint; currency: string; reason?: string; idempotencyKey: string;
} {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new AgentPayError("INVALID_INPUT", "the intent body must be an object");
  const b = body as Record<string, unknown>;
  if (b.action !== "refund_request") throw new AgentPayError("INVALID_INPUT", "action must be refund_request", { field: "action" });
  for (const k of Object.keys(b)) {
    if (!["action", "paymentId", "amount", "currency", "reason", "idempotencyKey"].includes(k)) throw new AgentPayError("INVALID_INPUT", "unknown field in the intent", { field: k });
  }
  const amount = parseAmount(b.amount, b.currency, registry);
  if (amount.minor === 0n) throw new AgentPayError("INVALID_AMOUNT", "amount must be greater than zero", { field: "amount" });
  const reason = reasonOf(b.reason, "reason");
  return {
    paymentId: validateId(b.paymentId, "pay", "paymentId"), amountMinor: amount.minor, currency: amount.currency,
    idempotencyKey: validateKey(b.idempotencyKey, "idempotencyKey"), ...(reason !== undefined ? { reason } : {}),
  };
}

/** Inside the command that admitted the agent's intent. */
export function requestRefundIn(tx: Tx, intent: VerifiedIntent, req: ReturnType<typeof parseRefundRequestBody>, pendingOf: (paymentId: string) => RefundRequest[]): RefundRequest {
  const ik = idemKey("q", intent.agentId, req.idempotencyKey);
  const request = { paymentId: req.paymentId, amountMinor: req.amountMinor, currency: req.currency, reason: req.reason };
  const prior = tx.get<IdempotencyRecord>(ik);
  if (prior) {
    if (!sameBody(prior.request, request)) {
      throw new AgentPayError("IDEMPOTENCY_CONFLICT", "this idempotency key was used with a different request", { idempotencyKey: req.idempotencyKey });
    }
    return tx.get<RefundRequest>(refundRequestKey(prior.resultId))!;
  }
  const p = tx.get<Payment>(paymentKey(req.paymentId));
  if (!p || p.agentId !== intent.agentId) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment for this agent", { paymentId: req.paymentId });
  checkGrant(tx, { agentId: intent.agentId, subWalletId: p.subWalletId, scope: "refund:request" });
  if (p.status !== "captured") throw new AgentPayError("PAYMENT_NOT_CAPTURED", `the payment is ${p.status}`, { paymentId: p.id, status: p.status });
  if (req.currency !== p.currency) throw new AgentPayError("CURRENCY_MISMATCH", "the refund's currency differs from the payment's", { currency: req.currency });
  const pending = pendingOf(p.id).filter((r) => tx.get<RefundRequest>(refundRequestKey(r.id))?.status === "pending");
  if (pending.length >= MAX_PENDING_PER_PAYMENT) {
    throw new AgentPayError("INVALID_INPUT", `at most ${MAX_PENDING_PER_PAYMENT} refund requests may wait per payment`, { paymentId: p.id });
  }
  const refundable = p.capturedMinor! - (p.refundedMinor ?? 0n);
  if (req.amountMinor > refundable) {
    throw new AgentPayError("REFUND_EXCEEDS_CAPTURE", "the request is for more than is left to refund", { paymentId: p.id, refundableMinor: refundable });
  }
  const rr: RefundRequest = {
    id: newId("rrq"), paymentId: p.id, merchantId: p.merchantId, agentId: p.agentId, subWalletId: p.subWalletId,
    amountMinor: req.amountMinor, currency: p.currency, status: "pending", createdAtMs: tx.nowMs,
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
  };
  tx.put(refundRequestKey(rr.id), rr);
  tx.put(ik, { request, resultId: rr.id } satisfies IdempotencyRecord);
  emitPaymentEvent(tx, "refund.requested", p, {
    toMerchant: true, data: { refundRequestId: rr.id, amountMinor: rr.amountMinor, ...(rr.reason !== undefined ? { reason: rr.reason } : {}) },
  });
  return rr;
}

function pendingRequest(tx: Tx, requestId: string, merchantId: string): RefundRequest {
  const rr = tx.get<RefundRequest>(refundRequestKey(requestId));
  if (!rr || rr.merchantId !== merchantId) throw new AgentPayError("REFUND_REQUEST_NOT_FOUND", "no such refund request for this merchant", { refundRequestId: requestId });
  if (rr.status !== "pending") throw new AgentPayError("REFUND_REQUEST_RESOLVED", `the refund request was ${rr.status}`, { refundRequestId: rr.id, status: rr.status });
  return rr;
}

/** The merchant grants: the refund and the request's resolution commit together. */
export function grantRefundRequestIn(
  tx: Tx, ctx: PaymentsContext, input: { requestId: string; merchantId: string; amountMinor?: bigint; idempotencyKey: string },
): { request: RefundRequest; refund: Refund } {
  const ik = idemKey("r", input.merchantId, input.idempotencyKey);
  const prior = tx.get<IdempotencyRecord>(ik);
  const rr0 = tx.get<RefundRequest>(refundRequestKey(input.requestId));
  if (prior && rr0?.refundId === prior.resultId && rr0.merchantId === input.merchantId) {
    return { request: rr0, refund: refundIn(tx, ctx, refundInput(rr0, input)) };
  }
  const rr = pendingRequest(tx, input.requestId, input.merchantId);
  const refund = refundIn(tx, ctx, refundInput(rr, input));
  const next: RefundRequest = { ...rr, status: "granted", resolvedAtMs: tx.nowMs, refundId: refund.id };
  tx.put(refundRequestKey(rr.id), next);
  return { request: next, refund };
}

function refundInput(rr: RefundRequest, input: { merchantId: string; amountMinor?: bigint; idempotencyKey: string }) {
  return {
    paymentId: rr.paymentId, merchantId: input.merchantId, amountMinor: input.amountMinor ?? rr.amountMinor, currency: rr.currency,
    idempotencyKey: input.idempotencyKey, reason: `refund request ${rr.id}`,
  };
}

/** The merchant declines, with an optional reason the agent and the person see. */
export function declineRefundRequestIn(tx: Tx, input: { requestId: string; merchantId: string; reason?: string }): RefundRequest {
  const reason = reasonOf(input.reason, "reason");
  const rr = tx.get<RefundRequest>(refundRequestKey(input.requestId));
  if (rr && rr.merchantId === input.merchantId && rr.status === "declined") return rr; // idempotent
  const pending = pendingRequest(tx, input.requestId, input.merchantId);
  const next: RefundRequest = { ...pending, status: "declined", resolvedAtMs: tx.nowMs, ...(reason !== undefined ? { declineReason: reason } : {}) };
  tx.put(refundRequestKey(next.id), next);
  const p = tx.get<Payment>(paymentKey(next.paymentId))!;
  emitPaymentEvent(tx, "refund.declined", p, { data: { refundRequestId: next.id, ...(reason !== undefined ? { reason } : {}) } });
  return next;
}
