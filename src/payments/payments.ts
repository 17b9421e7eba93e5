import { AgentPayError, MinHeap, every, expectObject, invariant, newId, validateAmount, validateId, validateKey } from "../core/index.ts";
import { merchantKey } from "../merchants/index.ts";
import type { Merchant } from "../merchants/index.ts";
import type { Amount } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import type { Agents, VerifiedIntent } from "../agents/index.ts";
import type { Approvals } from "../approvals/index.ts";
import { parsePayBody, parsePaymentRef } from "./body.ts";
import { authorizeIn, chainNotEnabled, declinedError, newPaymentId } from "./authorize.ts";
import type { AuthorizeCommandInput, AuthorizeResult } from "./authorize.ts";
import { approvedIn, deniedIn, prepareApproval } from "./approve.ts";
import type { PaymentsContext } from "./context.ts";
import { HOLD_GRACE_MS, PAYMENT_PREFIX, REFUND_PREFIX, issuedTokenKey, paymentKey, paymentOfToken, storedVoucherIn, voucherKey } from "./records.ts";
import type { Payment, PaymentSeq, Receipt, Refund } from "./records.ts";
import { redeemIn } from "./redeem.ts";
import {
  REFUND_REQUEST_PREFIX, declineRefundRequestIn, grantRefundRequestIn, parseRefundRequestBody, refundRequestKey, requestRefundIn,
} from "./refund-requests.ts";
import type { RefundRequest, RefundRequestStatus } from "./refund-requests.ts";
import { acceptIntent } from "../agents/index.ts";
import { refundIn } from "./refund.ts";
import { voidIn } from "./void.ts";
import type { SignedVoucher } from "../chain/index.ts";
import type { RiskEvent } from "../risk/index.ts";

export interface RedeemInput {
  /** The Token Pay token the agent handed over. */
  token: string;
  /** The merchant redeeming: must be the token's audience. */
  merchantId: string;
  /** Up to the token's cap; less releases the rest. */
  amount: Amount;
  idempotencyKey: string;
}

export interface RefundInput {
  paymentId: string;
  merchantId: string;
  amount: Amount;
  idempotencyKey: string;
  reason?: string;
}

export interface VoidByMerchantInput {
  merchantId: string;
  /** The payment to release; or give the `token` instead. */
  paymentId?: string;
  token?: string;
}

export interface ListPaymentsQuery {
  subWalletId?: string;
  agentId?: string;
  merchantId?: string;
  /** A person's payments, across their wallets. */
  ownerId?: string;
  /** Default 100, at most 1,000. */
  limit?: number;
  /** Cursor: the last payment id of the previous page (pages go from newest to oldest). */
  startingAfter?: string;
}

export interface WaitOptions {
  /** Return once the status is no longer this one (default "pending_approval"). */
  whileStatus?: Payment["status"];
  /** At most 60 s. */
  timeoutMs: number;
}

const MAX_LIST = 1_000;
const MAX_WAITERS = 10_000;
const MAX_SWEEP = 500;
/** A hold whose void failed is tried again this much later. */
const SWEEP_RETRY_MS = 60_000;

/** Inserts `p.id` into `list`, kept in (createdAtMs, id) order; new payments land at the end. */
function insertOrdered(list: string[], p: Payment, read: (id: string) => Payment | undefined): void {
  const after = (id: string): boolean => {
    const q = read(id);
    return q === undefined || q.createdAtMs < p.createdAtMs || (q.createdAtMs === p.createdAtMs && q.id < p.id);
  };
  let i = list.length;
  while (i > 0 && !after(list[i - 1]!)) i--;
  list.splice(i, 0, p.id);
}

/**
 * The payment flow: authorize → (approve) → token → redeem / void / refund.
 * Each step is one engine command; crypto (intent and token signatures) runs outside it.
 */
export class Payments {
  readonly #ctx: PaymentsContext;
  readonly #agents: Agents;
  readonly #bySubWallet = new Map<string, string[]>();
  readonly #byAgent = new Map<string, string[]>();
  readonly #byMerchant = new Map<string, string[]>();
  readonly #byOwner = new Map<string, string[]>();
  readonly #requestsByPayment = new Map<string, RefundRequest[]>();
  readonly #requestsByMerchant = new Map<string, string[]>();
  /** Long-polls waiting for a payment's status to change (bounded: see wait()). */
  readonly #waiters = new Map<string, Set<() => void>>();
  #waiting = 0;
  readonly #expiries = new MinHeap<string>();
  /** Authorized (unredeemed) payments per sub-wallet: what a freeze voids. */
  readonly #outstanding = new Map<string, Set<string>>();
  #stopSweeper: (() => void) | undefined;
  #loading = true;
  #loaded: Payment[] = [];
  #loadedRefunds: Refund[] = [];

  constructor(ctx: PaymentsContext, agents: Agents, approvals: Approvals) {
    this.#ctx = ctx;
    this.#agents = agents;
    // The built-in risk engine keeps its operator resets in the store, in the order of payment changes.
    ctx.risk.attach?.(ctx.engine);
    approvals.onResolve("payment", {
      prepare: (a) => prepareApproval(ctx, a),
      approved: (tx, a, prepared) => approvedIn(tx, ctx, a, prepared),
      denied: (tx, a) => deniedIn(tx, a),
    });
    ctx.engine.observe(PAYMENT_PREFIX, (_k, before, after) => this.#observe(before as Payment | undefined, after as Payment | undefined));
    ctx.engine.observe(REFUND_REQUEST_PREFIX, (_k, before, after) => {
      const r = after as RefundRequest | undefined;
      if (!r) return;
      let list = this.#requestsByPayment.get(r.paymentId);
      if (!list) this.#requestsByPayment.set(r.paymentId, (list = []));
      const at = list.findIndex((x) => x.id === r.id);
      if (at >= 0) list[at] = r;
      else list.push(r);
      if (!before) {
        let m = this.#requestsByMerchant.get(r.merchantId);
        if (!m) this.#requestsByMerchant.set(r.merchantId, (m = []));
        m.push(r.id);
      }
    });
    ctx.engine.observe(REFUND_PREFIX, (_k, before, after) => {
      const r = after as Refund | undefined;
      if (!r || before) return;
      if (this.#loading) this.#loadedRefunds.push(r);
      else this.#recordRefund(r);
    });
  }

  #observe(before: Payment | undefined, p: Payment | undefined): void {
    if (!p) return;
    if (!before) {
      // Each list is in (createdAtMs, id) order, the same after a reopen (the store loads in key order).
      for (const [m, k] of [[this.#bySubWallet, p.subWalletId], [this.#byAgent, p.agentId], [this.#byMerchant, p.merchantId], [this.#byOwner, p.ownerId]] as const) {
        let list = m.get(k);
        if (!list) m.set(k, (list = []));
        if (this.#loading) list.push(p.id); // sorted once in finishLoad
        else insertOrdered(list, p, (id) => this.#ctx.engine.read<Payment>(paymentKey(id)));
      }
    }
    if (p.status === "authorized" && before?.status !== "authorized") {
      this.#expiries.push(p.expiresAtMs! + HOLD_GRACE_MS, p.id);
      let set = this.#outstanding.get(p.subWalletId);
      if (!set) this.#outstanding.set(p.subWalletId, (set = new Set()));
      set.add(p.id);
    } else if (p.status !== "authorized" && before?.status === "authorized") {
      const set = this.#outstanding.get(p.subWalletId);
      set?.delete(p.id);
      if (set?.size === 0) this.#outstanding.delete(p.subWalletId);
    }
    if (before && before.status !== p.status) {
      const ws = this.#waiters.get(p.id);
      if (ws) for (const wake of ws) wake();
    }
    if (this.#loading) {
      this.#loaded.push(p);
      return;
    }
    for (const e of riskEventsOf(before, p)) this.#ctx.risk.record(e);
  }

  /**
   * Called by the facade once the store is loaded: replays committed payment changes into the risk
   * engine (its features are derived state, rebuilt rather than stored) in the order they were made
   * (their `seq`), so the rebuilt state is the one the engine had; records written before `seq`
   * existed go first, in time order.
   */
  finishLoad(): void {
    this.#loading = false;
    const created = new Map<string, number>();
    const createdAt = (id: string): number => {
      let t = created.get(id);
      if (t === undefined) created.set(id, (t = this.#ctx.engine.read<Payment>(paymentKey(id))?.createdAtMs ?? 0));
      return t;
    };
    for (const m of [this.#bySubWallet, this.#byAgent, this.#byMerchant, this.#byOwner]) {
      for (const list of m.values()) list.sort((a, b) => createdAt(a) - createdAt(b) || (a < b ? -1 : a > b ? 1 : 0));
    }
    const loaded = this.#loaded, refunds = this.#loadedRefunds;
    this.#loaded = [];
    this.#loadedRefunds = [];
    // Each number of the order belongs to one change: the replay walks the numbers (no event objects
    // held for the whole history, no sort). Records from before `seq` existed go first, by time.
    let top = 0;
    for (const p of loaded) if (p.seq) for (const f of SEQ_FIELDS) top = Math.max(top, p.seq[f] ?? 0);
    for (const r of refunds) top = Math.max(top, r.seq ?? 0);
    const at: Array<Payment | Refund | undefined> = new Array<Payment | Refund | undefined>(top + 1);
    const what = new Uint8Array(top + 1);   // 1 + index in SEQ_FIELDS; REFUND for a refund
    const place = (n: number, x: Payment | Refund, w: number) => {
      invariant(at[n] === undefined, "two changes share a place in the risk order", { seq: n });
      at[n] = x;
      what[n] = w;
    };
    const legacy: RiskEvent[] = [];
    for (const p of loaded) {
      if (p.seq) SEQ_FIELDS.forEach((f, i) => { if (p.seq![f] !== undefined) place(p.seq![f]!, p, i + 1); });
      if (p.seq?.created === undefined) legacy.push(...legacyRiskEventsOf(p));
    }
    for (const r of refunds) {
      if (r.seq !== undefined) place(r.seq, r, REFUND);
      else {
        const e = this.#refundEvent(r);
        if (e) legacy.push(e);
      }
    }
    legacy.sort((a, b) => a.atMs - b.atMs);
    for (const e of legacy) this.#ctx.risk.record(e);
    for (let n = 1; n <= top; n++) {
      const x = at[n];
      if (x === undefined) continue;
      const e = what[n] === REFUND ? this.#refundEvent(x as Refund) : riskEventAt(x as Payment, SEQ_FIELDS[what[n]! - 1]!);
      if (e) this.#ctx.risk.record(e);
    }
    this.#ctx.risk.finishLoad?.();
  }

  #recordRefund(r: Refund): void {
    const e = this.#refundEvent(r);
    if (e) this.#ctx.risk.record(e);
  }

  #refundEvent(r: Refund): RiskEvent | undefined {
    const p = this.#ctx.engine.read<Payment>(paymentKey(r.paymentId));
    if (!p) return undefined;
    return { ...riskIntentOf(p), amountMinor: r.amountMinor, atMs: r.createdAtMs, kind: "refunded", ...(r.seq !== undefined ? { seq: r.seq } : {}) };
  }

  /**
   * An agent's signed payment intent → approved (with a token), pending approval, or
   * PAYMENT_DECLINED (with reasons; the decline is recorded, nothing moves).
   */
  async authorize(intentJws: string): Promise<AuthorizeResult> {
    const intent = await this.#agents.verifyIntent(intentJws);
    let prepared: Omit<AuthorizeCommandInput, "intent" | "maxAgeMs">;
    try {
      prepared = await this.#prepareAuthorize(intent);
    } catch (e) {
      // Refused before the command (a body it cannot take, an unknown merchant, a voucher that cannot
      // be signed): the intent is used all the same, as a refusal inside the command uses it (authorizeIn).
      await this.#agents.consumeIntent(intent).catch(() => {});
      throw e;
    }
    const out = await this.#ctx.engine.submit((tx) => authorizeIn(tx, this.#ctx, { ...prepared, intent, maxAgeMs: this.#agents.intentMaxAgeMs }));
    if (out.kind === "declined") throw declinedError(out.payment);
    if (out.kind === "refused") throw out.error;
    return out.result;
  }

  /** The work before the command: the body parsed, the voucher and token signed (discarded if not approved). */
  async #prepareAuthorize(intent: VerifiedIntent): Promise<Omit<AuthorizeCommandInput, "intent" | "maxAgeMs">> {
    const req = parsePayBody(intent.body, this.#ctx.currencies);
    const merchant = this.#ctx.engine.read<Merchant>(merchantKey(req.merchantId));
    if (!merchant) throw new AgentPayError("MERCHANT_NOT_FOUND", "no such merchant", { merchantId: req.merchantId });
    if (merchant.settlement === "chain" && !this.#ctx.vouchers) throw chainNotEnabled(merchant.id);
    const paymentId = newPaymentId();
    // Signed before the command: the engine never waits on crypto. Discarded if not approved.
    // For a merchant that settles on-chain, the voucher comes first: the token carries its digest (vh),
    // and its deadline is the token's expiry.
    const nowMs = this.#ctx.engine.clock.nowMs();
    const expiresAtMs = Math.floor((nowMs + this.#ctx.issuer.defaultTtlMs) / 1000) * 1000;
    const voucher = await this.#ctx.vouchers?.prepare({
      paymentId, agentId: intent.agentId, subWalletId: req.subWalletId, merchantId: req.merchantId, amountMinor: req.amount.minor,
      currency: req.amount.currency, expiresAtMs, ...(req.reference !== undefined ? { reference: req.reference } : {}),
    });
    const minted = await this.#ctx.issuer.mintAsync({
      agentId: intent.agentId, merchantId: req.merchantId, subWalletId: req.subWalletId, amount: req.amount,
      category: merchant.category, agentKeyThumbprint: intent.kid, paymentId, tokenId: newId("tok"), nowMs,
      ...(voucher ? { voucherHash: voucher.digest } : {}),
    });
    return { req, category: merchant.category, paymentId, minted, ...(voucher ? { voucher } : {}) };
  }

  /** The merchant captures up to the token's cap. Exactly once, whatever the concurrency. */
  async redeem(input: RedeemInput): Promise<Receipt> {
    expectObject<RedeemInput>(input, ["token", "merchantId", "amount", "idempotencyKey"], "redeem input");
    const merchantId = validateId(input.merchantId, "mer", "merchantId");
    const amount = validateAmount(input.amount, { positive: true, registry: this.#ctx.currencies });
    const idempotencyKey = validateKey(input.idempotencyKey, "idempotencyKey");
    // Authenticated against the issuer's own record of the token (no public-key work on the
    // hot path); the command then re-reads the token's state, so only one redemption wins.
    const verified = this.#ctx.issuer.checkIssued(input.token, { merchantId },
      (tokenId) => this.#ctx.engine.read<string>(issuedTokenKey(tokenId)));
    return this.#ctx.engine.submit((tx) => redeemIn(tx, this.#ctx, {
      verified, merchantId, amountMinor: amount.minor, currency: amount.currency, idempotencyKey,
    }));
  }

  /** The merchant releases an unredeemed payment (by its token or id). */
  async voidByMerchant(input: VoidByMerchantInput): Promise<Payment> {
    expectObject<VoidByMerchantInput>(input, ["merchantId", "paymentId", "token"], "void input");
    const merchantId = validateId(input.merchantId, "mer", "merchantId");
    let paymentId: string;
    if (input.token !== undefined) {
      const v = this.#ctx.issuer.verify(input.token, { merchantId });
      // A token whose payment does not carry it is not ours: PAYMENT_NOT_FOUND below.
      paymentId = paymentOfToken((k) => this.#ctx.engine.read<Payment>(k), v)?.id ?? "";
    } else {
      paymentId = validateId(input.paymentId, "pay", "paymentId");
    }
    return this.#ctx.engine.submit((tx) => {
      const p = tx.get<Payment>(paymentKey(paymentId));
      if (!p || p.merchantId !== merchantId) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment for this merchant", { paymentId });
      return voidIn(tx, this.#ctx, paymentId, "merchant");
    });
  }

  /** The agent releases its own unredeemed payment (a signed intent `{ action: "void", paymentId }`). */
  async voidByAgent(intentJws: string): Promise<Payment> {
    return this.#agents.receiveIntent(intentJws, (tx, intent) => {
      const paymentId = parsePaymentRef(intent.body, "void");
      const p = tx.get<Payment>(paymentKey(paymentId));
      if (!p || p.agentId !== intent.agentId) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment for this agent", { paymentId });
      return voidIn(tx, this.#ctx, paymentId, "agent");
    });
  }

  /** The agent fetches its token once a payment is authorized (e.g. after an approval). */
  async fetchToken(intentJws: string): Promise<{ paymentId: string; status: Payment["status"]; token?: string; expiresAtMs?: number; voucher?: SignedVoucher }> {
    return this.#agents.receiveIntent(intentJws, (tx, intent) => {
      const paymentId = parsePaymentRef(intent.body, "fetch_token");
      const p = tx.get<Payment>(paymentKey(paymentId));
      if (!p || p.agentId !== intent.agentId) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment for this agent", { paymentId });
      if (p.status !== "authorized") return { paymentId, status: p.status };
      const voucher = p.chain ? storedVoucherIn(tx, p.id) : undefined;
      return { paymentId, status: p.status, token: tx.get<string>(issuedTokenKey(p.tokenId!))!, expiresAtMs: p.expiresAtMs!, ...(voucher ? { voucher } : {}) };
    });
  }

  /**
   * The token (and voucher) of an authorized payment, for a caller that has already authenticated
   * the payment's agent (the HTTP API's signed agent requests); undefined unless authorized.
   * A bearer credential: hand it only to the payment's own agent.
   */
  issuedToken(paymentId: string): { token: string; expiresAtMs: number; voucher?: SignedVoucher } | undefined {
    const p = this.get(paymentId);
    if (p.status !== "authorized") return undefined;
    const voucher = p.chain ? this.#ctx.engine.read<SignedVoucher>(voucherKey(p.id)) : undefined;
    return { token: this.#ctx.engine.read<string>(issuedTokenKey(p.tokenId!))!, expiresAtMs: p.expiresAtMs!, ...(voucher ? { voucher } : {}) };
  }

  /** The merchant refunds part or all of a captured payment. Idempotent. */
  async refund(input: RefundInput): Promise<Refund> {
    expectObject<RefundInput>(input, ["paymentId", "merchantId", "amount", "idempotencyKey", "reason"], "refund input");
    const paymentId = validateId(input.paymentId, "pay", "paymentId");
    const merchantId = validateId(input.merchantId, "mer", "merchantId");
    const amount = validateAmount(input.amount, { positive: true, registry: this.#ctx.currencies });
    const idempotencyKey = validateKey(input.idempotencyKey, "idempotencyKey");
    if (input.reason !== undefined && (typeof input.reason !== "string" || input.reason.length > 500)) {
      throw new AgentPayError("INVALID_INPUT", "reason must be a string of at most 500 characters", { field: "reason" });
    }
    return this.#ctx.engine.submit((tx) => refundIn(tx, this.#ctx, {
      paymentId, merchantId, amountMinor: amount.minor, currency: amount.currency, idempotencyKey,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
    }));
  }

  get(paymentId: string): Payment {
    const p = this.#ctx.engine.read<Payment>(paymentKey(validateId(paymentId, "pay", "paymentId")));
    if (!p) throw new AgentPayError("PAYMENT_NOT_FOUND", "no such payment", { paymentId });
    return p;
  }

  /** Payments of one sub-wallet, agent or merchant, newest first. */
  list(q: ListPaymentsQuery): Payment[] {
    if (q === null || typeof q !== "object") throw new AgentPayError("INVALID_INPUT", "query must be an object");
    const limit = q.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST) throw new AgentPayError("INVALID_INPUT", `limit must be 1-${MAX_LIST}`, { field: "limit" });
    const lists: string[][] = [];
    if (q.subWalletId !== undefined) lists.push(this.#bySubWallet.get(validateId(q.subWalletId, "sw", "subWalletId")) ?? []);
    if (q.agentId !== undefined) lists.push(this.#byAgent.get(validateId(q.agentId, "agt", "agentId")) ?? []);
    if (q.merchantId !== undefined) lists.push(this.#byMerchant.get(validateId(q.merchantId, "mer", "merchantId")) ?? []);
    if (q.ownerId !== undefined) lists.push(this.#byOwner.get(validateKey(q.ownerId, "ownerId")) ?? []);
    if (lists.length === 0) throw new AgentPayError("INVALID_INPUT", "give subWalletId, agentId, merchantId or ownerId");
    const [first, ...rest] = lists.sort((a, b) => a.length - b.length);
    const others = rest.map((l) => new Set(l));
    const out: Payment[] = [];
    let start = first!.length - 1;
    if (q.startingAfter !== undefined) {
      const at = first!.lastIndexOf(validateId(q.startingAfter, "pay", "startingAfter"));
      if (at < 0) throw new AgentPayError("INVALID_INPUT", "startingAfter is not a payment of this list", { field: "startingAfter" });
      start = at - 1;
    }
    for (let i = start; i >= 0 && out.length < limit; i--) {
      const id = first![i]!;
      if (others.every((s) => s.has(id))) out.push(this.#ctx.engine.read<Payment>(paymentKey(id))!);
    }
    return out;
  }

  /**
   * Waits (long-poll) until the payment's status is no longer `whileStatus` (default
   * "pending_approval") or `timeoutMs` passes; returns the payment as it is then. At most 10,000
   * waits at once (ENGINE_OVERLOADED beyond).
   */
  async wait(paymentId: string, opts: WaitOptions): Promise<Payment> {
    const p = this.get(paymentId);
    if (opts === null || typeof opts !== "object" || !Number.isSafeInteger(opts.timeoutMs) || opts.timeoutMs < 0 || opts.timeoutMs > 60_000) {
      throw new AgentPayError("INVALID_INPUT", "timeoutMs must be an integer from 0 to 60000", { field: "timeoutMs" });
    }
    const whileStatus = opts.whileStatus ?? "pending_approval";
    if (p.status !== whileStatus || opts.timeoutMs === 0) return p;
    if (this.#waiting >= MAX_WAITERS) throw new AgentPayError("ENGINE_OVERLOADED", "too many waits in progress; retry shortly");
    this.#waiting++;
    let set = this.#waiters.get(p.id);
    if (!set) this.#waiters.set(p.id, (set = new Set()));
    const waiters = set;
    try {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, opts.timeoutMs);
        waiters.add(done);
      });
    } finally {
      this.#waiting--;
      if (waiters.size === 0) this.#waiters.delete(p.id);
    }
    return this.get(p.id);
  }

  /** Long-polls (wait()) in progress right now (tests, metrics). */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * An agent asks the merchant to refund (part of) its captured payment: a signed intent
   * `{ action: "refund_request", paymentId, amount, currency, reason?, idempotencyKey }`; needs the
   * grant scope `refund:request`. The merchant is told by webhook (`refund.requested`).
   */
  async requestRefund(intentJws: string): Promise<RefundRequest> {
    const intent = await this.#agents.verifyIntent(intentJws);
    const req = parseRefundRequestBody(intent.body, this.#ctx.currencies);
    return this.#ctx.engine.submit((tx) => {
      acceptIntent(tx, intent, this.#agents.intentMaxAgeMs);
      return requestRefundIn(tx, intent, req, (id) => this.#requestsByPayment.get(id) ?? []);
    });
  }

  getRefundRequest(refundRequestId: string): RefundRequest {
    const r = this.#ctx.engine.read<RefundRequest>(refundRequestKey(validateId(refundRequestId, "rrq", "refundRequestId")));
    if (!r) throw new AgentPayError("REFUND_REQUEST_NOT_FOUND", "no such refund request", { refundRequestId });
    return r;
  }

  /** Refund requests of one merchant (newest first) or of one payment. */
  refundRequests(q: { merchantId?: string; paymentId?: string; status?: RefundRequestStatus; limit?: number }): RefundRequest[] {
    if (q === null || typeof q !== "object") throw new AgentPayError("INVALID_INPUT", "query must be an object");
    const limit = q.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST) throw new AgentPayError("INVALID_INPUT", `limit must be 1-${MAX_LIST}`, { field: "limit" });
    let out: RefundRequest[];
    if (q.paymentId !== undefined) out = [...(this.#requestsByPayment.get(validateId(q.paymentId, "pay", "paymentId")) ?? [])].reverse();
    else if (q.merchantId !== undefined) {
      out = (this.#requestsByMerchant.get(validateId(q.merchantId, "mer", "merchantId")) ?? []).slice().reverse()
        .map((id) => this.#ctx.engine.read<RefundRequest>(refundRequestKey(id))!);
    } else throw new AgentPayError("INVALID_INPUT", "give merchantId or paymentId");
    if (q.merchantId !== undefined) out = out.filter((r) => r.merchantId === q.merchantId);
    if (q.status !== undefined) out = out.filter((r) => r.status === q.status);
    return out.slice(0, limit);
  }

  /** The merchant grants a refund request (for its amount, or less): the refund is made in the same command. */
  async grantRefundRequest(input: { refundRequestId: string; merchantId: string; amount?: Amount; idempotencyKey: string }): Promise<{ request: RefundRequest; refund: Refund }> {
    expectObject<typeof input>(input, ["refundRequestId", "merchantId", "amount", "idempotencyKey"], "grant input");
    const requestId = validateId(input.refundRequestId, "rrq", "refundRequestId");
    const merchantId = validateId(input.merchantId, "mer", "merchantId");
    const amount = input.amount === undefined ? undefined : validateAmount(input.amount, { positive: true, registry: this.#ctx.currencies });
    const idempotencyKey = validateKey(input.idempotencyKey, "idempotencyKey");
    return this.#ctx.engine.submit((tx) => grantRefundRequestIn(tx, this.#ctx, {
      requestId, merchantId, idempotencyKey, ...(amount ? { amountMinor: amount.minor } : {}),
    }));
  }

  /** The merchant declines a refund request. */
  async declineRefundRequest(input: { refundRequestId: string; merchantId: string; reason?: string }): Promise<RefundRequest> {
    expectObject<typeof input>(input, ["refundRequestId", "merchantId", "reason"], "decline input");
    const requestId = validateId(input.refundRequestId, "rrq", "refundRequestId");
    const merchantId = validateId(input.merchantId, "mer", "merchantId");
    return this.#ctx.engine.submit((tx) => declineRefundRequestIn(tx, { requestId, merchantId, ...(input.reason !== undefined ? { reason: input.reason } : {}) }));
  }

  /**
   * Inside the freezing command (wired by the facade): voids every outstanding token of the
   * sub-wallet, releasing its hold. On-chain payments are left: their vouchers stay redeemable
   * on-chain until their deadline, so their holds must stay too. Returns how many were voided.
   */
  voidOutstandingIn(tx: Tx, subWalletId: string): number {
    let n = 0;
    for (const id of [...(this.#outstanding.get(subWalletId) ?? [])]) {
      const p = tx.get<Payment>(paymentKey(id));
      if (!p || p.status !== "authorized" || p.chain) continue;
      voidIn(tx, this.#ctx, id, "frozen");
      n++;
    }
    return n;
  }

  /** Releases holds whose token expired unredeemed (bounded per call: 1-500). */
  async expireDue(limit = MAX_SWEEP): Promise<number> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new AgentPayError("INVALID_INPUT", `limit must be a positive integer (at most ${MAX_SWEEP} are taken)`, { field: "limit" });
    const max = Math.min(limit, MAX_SWEEP);
    return this.#ctx.engine.submit((tx) => {
      let n = 0;
      const taken: Array<{ key: number; value: string }> = [];
      const retry: Array<{ key: number; value: string }> = [];
      try {
        while (n + retry.length < max) {
          const top = this.#expiries.peek();
          if (!top || top.key > tx.nowMs) break;
          taken.push(this.#expiries.pop()!);
          const p = tx.get<Payment>(paymentKey(top.value));
          // On-chain payments are released by the chain watcher once the chain's time passes the voucher's deadline.
          if (!p || p.status !== "authorized" || p.chain) continue;
          try {
            // One payment that cannot be voided must not hold every other expired hold hostage.
            tx.nested(() => voidIn(tx, this.#ctx, p.id, "expired"));
            n++;
          } catch {
            retry.push({ key: tx.nowMs + SWEEP_RETRY_MS, value: p.id });
          }
        }
      } catch (e) {
        for (const x of taken) this.#expiries.push(x.key, x.value);
        throw e;
      }
      for (const x of retry) this.#expiries.push(x.key, x.value);
      return n;
    });
  }


  startSweeper(intervalMs = 5_000): void {
    this.stopSweeper();
    this.#stopSweeper = every(intervalMs, () => this.expireDue());
  }

  stopSweeper(): void {
    this.#stopSweeper?.();
    this.#stopSweeper = undefined;
  }
}

function riskIntentOf(p: Payment) {
  return {
    agentId: p.agentId, subWalletId: p.subWalletId, ownerId: p.ownerId, merchantId: p.merchantId, category: p.category,
    amountMinor: p.amountMinor, currency: p.currency, atMs: p.createdAtMs,
  };
}

const SEQ_FIELDS = ["created", "authorized", "denied", "captured", "resolved"] as const satisfies ReadonlyArray<keyof PaymentSeq>;
const REFUND = 255;

/**
 * What the risk engine learns from one change of a payment (one `seq` entry). A direct authorization
 * is one event (its `created` entry only marks its place); a review is one at creation and one when
 * the person resolves it.
 */
function riskEventAt(p: Payment, field: (typeof SEQ_FIELDS)[number]): RiskEvent | undefined {
  const seq = p.seq![field]!;
  const ev = riskIntentOf(p);
  const reviewed = p.approvalId !== undefined;
  switch (field) {
    case "created":
      if (reviewed) return { ...ev, kind: "reviewed", seq };
      return p.status === "declined" ? { ...ev, kind: "declined", seq } : undefined;
    case "authorized":
      return { ...ev, atMs: p.authorizedAtMs!, kind: "authorized", seq, ...(reviewed ? { countsAsAttempt: false } : {}) };
    case "denied":
      return { ...ev, atMs: p.resolvedAtMs!, kind: "declined", countsAsAttempt: false, seq };
    case "captured":
      return { ...ev, amountMinor: p.capturedMinor!, atMs: p.capturedAtMs!, kind: "captured", seq };
    case "resolved":
      return { ...ev, atMs: p.resolvedAtMs!, kind: "voided", seq };
  }
}

/** The events of a write of a payment: one per `seq` entry `p` has and `before` had not, in `seq` order. */
function riskEventsOf(before: Payment | undefined, p: Payment): RiskEvent[] {
  const s = p.seq;
  if (s === undefined) return [];
  const out: RiskEvent[] = [];
  for (const f of SEQ_FIELDS) {
    if (s[f] === undefined || s[f] === before?.seq?.[f]) continue;
    const e = riskEventAt(p, f);
    if (e) out.push(e);
  }
  return out.length > 1 ? out.sort((x, y) => x.seq! - y.seq!) : out;
}

/** The events of a record written before `seq` existed, for the changes that carry no `seq` entry. */
function legacyRiskEventsOf(p: Payment): RiskEvent[] {
  const ev = riskIntentOf(p);
  const s = p.seq;
  const out: RiskEvent[] = [];
  if (p.status === "declined") out.push({ ...ev, kind: "declined" });
  if (p.approvalId !== undefined) out.push({ ...ev, kind: "reviewed" });
  if (p.authorizedAtMs !== undefined && s?.authorized === undefined) {
    out.push({ ...ev, atMs: p.authorizedAtMs, kind: "authorized", ...(p.approvalId ? { countsAsAttempt: false } : {}) });
  }
  if (p.capturedAtMs !== undefined && s?.captured === undefined) out.push({ ...ev, amountMinor: p.capturedMinor!, atMs: p.capturedAtMs, kind: "captured" });
  if ((p.status === "voided" || p.status === "expired") && p.resolvedAtMs !== undefined && s?.resolved === undefined) {
    out.push({ ...ev, atMs: p.resolvedAtMs, kind: "voided" });
  }
  return out;
}
