import { AgentPayError, newId, sameBody, scopedKey } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { acceptIntent, checkGrant, grantKey, grantProblem, useGrant } from "../agents/index.ts";
import type { Grant, VerifiedIntent } from "../agents/index.ts";
import { createApprovalIn } from "../approvals/index.ts";
import { combineVerdicts, nextRiskSeqIn } from "../risk/index.ts";
import { createTransfer } from "../ledger/index.ts";
import { getMerchantIn, payoutAccountIn } from "../merchants/index.ts";
import type { MintedToken } from "../tokens/index.ts";
import { activeSubWalletIn, evaluateIn, recordSpendIn } from "../wallets/index.ts";
import type { SubWallet } from "../wallets/index.ts";
import type { SignedVoucher } from "../chain/index.ts";
import type { ParsedPay } from "./body.ts";
import type { PaymentsContext, PreparedVoucher } from "./context.ts";
import { emitPaymentEvent, notify } from "./effects.ts";
import { idemKey, issuedTokenKey, paymentKey, storedVoucherIn } from "./records.ts";
import type { Decision, IdempotencyRecord, Payment, PaymentChainInfo } from "./records.ts";

export type AuthorizeResult =
  | {
      readonly status: "approved";
      readonly paymentId: string;
      /** The single-use Token Pay token to hand to the merchant. A bearer credential: never log it. */
      readonly token: string;
      readonly tokenId: string;
      readonly expiresAtMs: number;
      readonly decision: Decision;
      /**
       * For a merchant that settles on-chain: the voucher twinned with the token (the token's `vh`
       * claim is its digest). The agent hands both to the merchant, who redeems the voucher on-chain.
       */
      readonly voucher?: SignedVoucher;
    }
  | {
      readonly status: "pending_approval";
      readonly paymentId: string;
      readonly approvalId: string;
      readonly expiresAtMs: number;
      readonly decision: Decision;
    }
  | {
      /** A retry (same idempotency key) of a payment that has moved on since: no token any more. */
      readonly status: "captured" | "voided" | "expired" | "denied";
      readonly paymentId: string;
      readonly decision: Decision;
    };

/** An authorization that produced a token (directly, or once the person approved). */
export type ApprovedPayment = Extract<AuthorizeResult, { status: "approved" }>;

/**
 * What the command returns: a decline is committed (recorded, notified), then thrown to the caller;
 * a refusal (frozen, no funds, grant...) commits only the intent's nonce, then is thrown.
 */
export type AuthorizeOutcome =
  | { kind: "ok"; result: AuthorizeResult }
  | { kind: "declined"; payment: Payment }
  | { kind: "refused"; error: unknown };

export function declinedError(p: Payment): AgentPayError {
  const reasons = [...p.decision.policy.reasons, ...p.decision.risk.reasons.map((r) => ({ code: r.code, message: r.message }))];
  return new AgentPayError("PAYMENT_DECLINED", "the payment was declined", {
    paymentId: p.id,
    reasons: reasons.map((r) => ({ code: r.code, message: r.message })),
    policyVersion: p.decision.policy.version,
    risk: { outcome: p.decision.risk.outcome, score: p.decision.risk.score, ruleSetVersion: p.decision.risk.ruleSetVersion },
  });
}

export function resultOf(tx: Tx, p: Payment): AuthorizeOutcome {
  if (p.status === "declined") return { kind: "declined", payment: p };
  if (p.status === "pending_approval") {
    return {
      kind: "ok",
      result: { status: "pending_approval", paymentId: p.id, approvalId: p.approvalId!, expiresAtMs: p.expiresAtMs!, decision: p.decision },
    };
  }
  if (p.status !== "authorized") return { kind: "ok", result: { status: p.status, paymentId: p.id, decision: p.decision } };
  const voucher = p.chain ? storedVoucherIn(tx, p.id) : undefined;
  return {
    kind: "ok",
    result: {
      status: "approved", paymentId: p.id, token: tx.get<string>(issuedTokenKey(p.tokenId!))!, tokenId: p.tokenId!,
      expiresAtMs: p.expiresAtMs!, decision: p.decision, ...(voucher ? { voucher } : {}),
    },
  };
}

/**
 * Places the hold, records the token as active, counts the spend and the grant use,
 * and queues the events: one payment going from decided to authorized, in the caller's command.
 */
export function authorizeMoneyIn(
  tx: Tx, ctx: PaymentsContext, p: Payment, sw: SubWallet, grant: Grant, minted: MintedToken, voucher?: PreparedVoucher,
): Payment {
  if (minted.paymentId !== p.id || minted.amount.minor !== p.amountMinor || minted.merchantId !== p.merchantId
    || minted.voucherHash !== voucher?.digest) {
    throw new AgentPayError("INVARIANT_VIOLATION", "the prepared token does not match the payment", { paymentId: p.id });
  }
  // An on-chain payment: its voucher (signed before the command) is recorded with the hold.
  const chain = chainInfoIn(tx, ctx, p, sw, voucher);
  const payout = payoutAccountIn(tx, ctx.ledger, p.merchantId, p.currency);
  const holdId = scopedKey("hold", p.id);
  createTransfer(tx, ctx.ledger.context, {
    id: holdId, debitAccountId: sw.accountId, creditAccountId: payout,
    amount: { minor: p.amountMinor, currency: p.currency }, pending: true, code: "payment_hold",
    metadata: { paymentId: p.id },
  });
  // Unlimited grants skip the write: only a grant with maxUses needs its count.
  if (grant.maxUses !== undefined) useGrant(tx, grant);
  recordSpendIn(tx, sw, p.amountMinor, tx.nowMs);
  const seenKey = `sm/${sw.id}/${p.merchantId}`;
  const firstPaymentToMerchant = !tx.has(seenKey);
  if (firstPaymentToMerchant) tx.put(seenKey, 1);
  // The token's state is the payment's status from here on (see tokenStateOf).
  tx.put(issuedTokenKey(minted.tokenId), minted.token);
  const authorized: Payment = {
    ...p, status: "authorized", tokenId: minted.tokenId, holdTransferId: holdId,
    authorizedAtMs: tx.nowMs, expiresAtMs: minted.expiresAtMs, grantId: grant.id, ...(chain ? { chain } : {}),
    seq: { ...p.seq, authorized: nextRiskSeqIn(tx) },
  };
  tx.put(paymentKey(p.id), authorized);
  emitPaymentEvent(tx, "payment.authorized", authorized);
  notify(tx, sw, authorized, { kind: "payment", amountMinor: p.amountMinor, firstPaymentToMerchant });
  return authorized;
}

function chainInfoIn(tx: Tx, ctx: PaymentsContext, p: Payment, sw: SubWallet, voucher: PreparedVoucher | undefined): PaymentChainInfo | undefined {
  if (ctx.vouchers) return ctx.vouchers.recordIn(tx, p, sw, voucher);
  if (getMerchantIn(tx, p.merchantId).settlement === "chain") throw chainNotEnabled(p.merchantId);
  return undefined;
}

/** A merchant that settles on-chain, with no chain bridge plugged in. */
export function chainNotEnabled(merchantId: string): AgentPayError {
  return new AgentPayError("CHAIN_NOT_ENABLED", "the merchant settles on-chain: open agentpay with { chain: true }", { merchantId });
}

export interface AuthorizeCommandInput {
  intent: VerifiedIntent;
  req: ParsedPay;
  category: string;
  paymentId: string;
  minted: MintedToken;
  /** The on-chain voucher twin, for a merchant that settles on-chain. */
  voucher?: PreparedVoucher;
  maxAgeMs: number;
}

/** The whole authorization, as ONE engine command. */
export function authorizeIn(tx: Tx, ctx: PaymentsContext, input: AuthorizeCommandInput): AuthorizeOutcome {
  const { intent, req } = input;
  const ik = idemKey("a", intent.agentId, req.idempotencyKey);
  const request = { subWalletId: req.subWalletId, merchantId: req.merchantId, amountMinor: req.amount.minor, currency: req.amount.currency, reference: req.reference, grantId: req.grantId };
  // The intent is admitted first (key, agent, nonce): a resent JWS is a replay, never a way to
  // fetch a live token. An honest retry signs a fresh intent with the same idempotency key.
  const agent = acceptIntent(tx, intent, input.maxAgeMs);
  // Whatever happens next, the nonce stays used: a refusal undoes everything but it, so the same
  // JWS cannot be resent once the cause is gone (after a top-up, an unfreeze, a new grant).
  try {
    return tx.nested(() => authorizeAdmittedIn(tx, ctx, input, agent, ik, request));
  } catch (e) {
    return { kind: "refused", error: e };
  }
}

function authorizeAdmittedIn(
  tx: Tx, ctx: PaymentsContext, input: AuthorizeCommandInput, agent: { id: string }, ik: string, request: Record<string, unknown>,
): AuthorizeOutcome {
  const { intent, req } = input;
  const prior = tx.get<IdempotencyRecord>(ik);
  if (prior) {
    if (!sameBody(prior.request, request)) {
      throw new AgentPayError("IDEMPOTENCY_CONFLICT", "this idempotency key was used with a different request", { idempotencyKey: req.idempotencyKey });
    }
    const p = tx.get<Payment>(paymentKey(prior.resultId))!;
    // The original result only while the grant it was made under stands (its own use may have been the last).
    const g = p.grantId ? tx.get<Grant>(grantKey(p.grantId)) : undefined;
    const problem = g ? grantProblem(g, tx.nowMs, "pay") : "GRANT_NOT_FOUND";
    if (problem && problem !== "GRANT_EXHAUSTED") {
      throw new AgentPayError(problem, "the grant behind this payment no longer allows it", { paymentId: p.id, grantId: p.grantId ?? null });
    }
    return resultOf(tx, p);
  }
  const sw = activeSubWalletIn(tx, req.subWalletId);
  const merchant = getMerchantIn(tx, req.merchantId);
  if (merchant.status !== "active") throw new AgentPayError("MERCHANT_DISABLED", "the merchant is disabled", { merchantId: merchant.id });
  const grant = checkGrant(tx, { agentId: agent.id, subWalletId: sw.id, scope: "pay", ...(req.grantId ? { grantId: req.grantId } : {}) });

  const verdict = evaluateIn(tx, sw, {
    amountMinor: req.amount.minor, currency: req.amount.currency, merchantId: merchant.id, category: merchant.category, atMs: tx.nowMs,
  });
  const risk = ctx.risk.score({
    agentId: agent.id, subWalletId: sw.id, ownerId: sw.ownerId, merchantId: merchant.id, category: merchant.category,
    amountMinor: req.amount.minor, currency: req.amount.currency, atMs: tx.nowMs, grantCreatedAtMs: grant.createdAtMs,
    // The person's own caps are priors for an agent with little history.
    ...(sw.policy.perPaymentMinor !== undefined ? { perPaymentLimitMinor: sw.policy.perPaymentMinor } : {}),
    ...(sw.policy.approvalAboveMinor !== undefined ? { approvalThresholdMinor: sw.policy.approvalAboveMinor } : {}),
  });
  const decision: Decision = {
    // Above the person's approval threshold a score decline goes to them with its reasons (combineVerdicts).
    outcome: combineVerdicts(verdict.outcome, risk),
    policy: { outcome: verdict.outcome, version: verdict.policyVersion ?? 1, reasons: verdict.reasons.map((r) => ({ code: r.code, message: r.message })) },
    risk,
    atMs: tx.nowMs,
  };
  const base: Payment = {
    id: input.paymentId, status: "declined", ownerId: sw.ownerId, walletId: sw.walletId, subWalletId: sw.id, agentId: agent.id,
    grantId: grant.id, merchantId: merchant.id, category: merchant.category, amountMinor: req.amount.minor,
    currency: req.amount.currency, idempotencyKey: req.idempotencyKey, createdAtMs: tx.nowMs, decision, agentKid: intent.kid,
    ...(req.reference !== undefined ? { reference: req.reference } : {}), seq: { created: nextRiskSeqIn(tx) },
  };
  tx.put(ik, { request, resultId: base.id } satisfies IdempotencyRecord);

  if (decision.outcome === "decline") {
    const declined: Payment = { ...base, resolvedAtMs: tx.nowMs };
    tx.put(paymentKey(base.id), declined);
    emitPaymentEvent(tx, "payment.declined", declined);
    const codes = [...decision.policy.reasons, ...risk.reasons].map((r) => r.code);
    notify(tx, sw, declined, { kind: "declined", amountMinor: base.amountMinor, reasons: codes });
    return { kind: "declined", payment: declined };
  }
  if (decision.outcome === "review") {
    const reasons = [...decision.policy.reasons, ...risk.reasons.map((r) => ({ code: r.code, message: r.message }))];
    const approval = createApprovalIn(tx, {
      ownerId: sw.ownerId, subWalletId: sw.id, agentId: agent.id, subject: { kind: "payment", id: base.id },
      summary: { merchantId: merchant.id, merchantName: merchant.name, category: merchant.category, amountMinor: base.amountMinor, currency: base.currency, reference: base.reference ?? null },
      reasons, ...(ctx.approvalTtlMs !== undefined ? { ttlMs: ctx.approvalTtlMs } : {}),
    });
    const pending: Payment = { ...base, status: "pending_approval", approvalId: approval.id, expiresAtMs: approval.expiresAtMs };
    tx.put(paymentKey(base.id), pending);
    emitPaymentEvent(tx, "approval.requested", pending);
    notify(tx, sw, pending, { kind: "approval_needed", amountMinor: base.amountMinor, reasons: reasons.map((r) => r.code) });
    return resultOf(tx, pending);
  }
  const authorized = authorizeMoneyIn(tx, ctx, base, sw, grant, input.minted, input.voucher);
  return resultOf(tx, authorized);
}

export const newPaymentId = (): string => newId("pay");
