// The Agentic Commerce Protocol's delegated payment (`POST /agentic_commerce/delegate_payment`, ACP
// spec 2026-04-17, openapi.delegate_payment.yaml) with agentpay as the payment provider. ACP tokenizes a
// card under an allowance (max amount, currency, merchant, expiry); agentpay has no cards, so:
//
//   - the "card" is the agent's sub-wallet: `payment_method.card_number_type` "network_token" and
//     `number` the sub-wallet id (`display_card_funding_type` "prepaid" describes it best);
//   - the caller is the agent, and `Authorization: Bearer <…>` carries its signed payment intent (a
//     compact JWS, not a secret) over { action: "pay", subWalletId = number, merchantId =
//     allowance.merchant_id, amount = max_amount (in the currency's decimals), currency (upper case),
//     reference = allowance.checkout_session_id, idempotencyKey = the Idempotency-Key header };
//   - the allowance becomes one grant-limited agentpay payment: policy, risk and the person's approval
//     apply, and the vault token (`id`) is its single-use Token Pay token: only merchant_id can redeem
//     it, for up to max_amount, once, before it expires (never after allowance.expires_at).
//
// Errors are ACP's flat objects (`type`, `code`, `message`, `param`); the agentpay code, when there is
// one, is in the AgentPay-Error-Code header. A payment waiting for the person answers 409
// idempotency_in_flight with Retry-After: the client repeats the request (same key, same body).
import { createHash } from "node:crypto";
import { z } from "zod";
import { isAgentPayError, parseAmount } from "../core/index.ts";
import type { AgentPay, AuthorizeResult } from "../index.ts";

/** Versions of the delegate-payment API this endpoint speaks (their request and response shapes are the same), newest first. */
export const ACP_API_VERSIONS = ["2026-04-17", "2026-01-30", "2026-01-16", "2025-12-12", "2025-09-29"] as const;

const str = (max: number) => z.string().max(max);
const Metadata = z.record(z.string().max(128), z.string().max(1024));

export const AcpPaymentMethodCard = z.strictObject({
  type: z.literal("card"),
  card_number_type: z.enum(["fpan", "network_token"]),
  number: str(256),
  exp_month: str(2).optional(),
  exp_year: str(4).optional(),
  name: str(256).optional(),
  cvc: str(4).optional(),
  cryptogram: str(1024).optional(),
  eci_value: str(2).optional(),
  checks_performed: z.array(z.enum(["avs", "cvv", "ani", "auth0"])).max(8).optional(),
  iin: str(8).optional(),
  display_card_funding_type: z.enum(["credit", "debit", "prepaid"]),
  display_wallet_type: str(128).optional(),
  display_brand: str(128).optional(),
  display_last4: z.string().regex(/^[0-9]{4}$/).optional(),
  metadata: Metadata,
  virtual: z.boolean().optional(),
}).meta({ id: "AcpPaymentMethodCard", description: "ACP's card. For agentpay: card_number_type network_token, number = the agent's sub-wallet id." });

export const AcpAddress = z.strictObject({
  name: str(256), line_one: str(60), line_two: str(60).optional(), city: str(60), state: str(128), country: z.string().length(2), postal_code: str(20),
}).meta({ id: "AcpAddress" });

export const AcpAllowance = z.strictObject({
  reason: z.literal("one_time"),
  max_amount: z.number().int(),
  currency: z.string().regex(/^[a-z]{3}$/),
  checkout_session_id: str(1024),
  merchant_id: str(256),
  expires_at: z.string().max(64),
}).meta({ id: "AcpAllowance", description: "The allowance: for agentpay, merchant_id is the agentpay merchant id and max_amount the payment (its token's cap)." });

export const AcpRiskSignal = z.strictObject({
  type: z.literal("card_testing"), score: z.number().int(), action: z.enum(["blocked", "manual_review", "authorized"]),
}).meta({ id: "AcpRiskSignal" });

export const AcpDelegatePaymentRequest = z.strictObject({
  payment_method: AcpPaymentMethodCard,
  allowance: AcpAllowance,
  billing_address: AcpAddress.optional(),
  risk_signals: z.array(AcpRiskSignal).max(32),
  metadata: Metadata,
}).meta({ id: "AcpDelegatePaymentRequest", description: "ACP DelegatePaymentRequest (2026-04-17)." });

export const AcpDelegatePaymentResponse = z.strictObject({
  id: z.string(), created: z.string(), metadata: z.record(z.string(), z.string()),
}).meta({ id: "AcpDelegatePaymentResponse", description: "id: the vault token, i.e. the payment's single-use Token Pay token (redeem it with POST /v1/payments/redeem)." });

export const AcpError = z.object({
  type: z.string(), code: z.string(), message: z.string(), param: z.string().optional(), supported_versions: z.array(z.string()).optional(),
}).meta({ id: "AcpError", description: "ACP's flat error object." });

export type AcpDelegatePaymentRequest = z.infer<typeof AcpDelegatePaymentRequest>;
export type AcpErrorBody = z.infer<typeof AcpError>;

/** An ACP answer: status, body and extra headers. */
export interface AcpAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface DelegatePaymentRequestIn {
  authorization: string | undefined;
  apiVersion: string | undefined;
  idempotencyKey: string | undefined;
  contentType: string | undefined;
  /** The raw body text. */
  body: string;
}

function err(status: number, type: string, code: string, message: string, extra: { param?: string; agentpayCode?: string; headers?: Record<string, string>; supported_versions?: string[] } = {}): AcpAnswer {
  return {
    status,
    body: { type, code, message, ...(extra.param ? { param: extra.param } : {}), ...(extra.supported_versions ? { supported_versions: extra.supported_versions } : {}) },
    headers: { ...(extra.agentpayCode ? { "agentpay-error-code": extra.agentpayCode } : {}), ...extra.headers },
  };
}
const invalid = (message: string, param?: string, agentpayCode?: string) =>
  err(400, "invalid_request", "invalid_card", message, { ...(param ? { param } : {}), ...(agentpayCode ? { agentpayCode } : {}) });
const refused = (message: string, param?: string, agentpayCode?: string) =>
  err(422, "invalid_request", "invalid_card", message, { ...(param ? { param } : {}), ...(agentpayCode ? { agentpayCode } : {}) });

/** Semantic JSON equality (ACP §5.2): key order does not matter, array order does; 1.0 equals 1 (JSON.parse already made them one). */
function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

type Entry =
  | { state: "running"; bodyHash: string; atMs: number }
  | { state: "waiting"; bodyHash: string; atMs: number; paymentId: string }
  | { state: "done"; bodyHash: string; atMs: number; answer: AcpAnswer };

export interface AcpOptions {
  /** How long a request waits for the person's approval before answering 409 (the client repeats it). Default 20 s, at most 60 s. */
  approvalWaitMs?: number;
  /** Idempotency keys remembered (ACP: ≥ 24 h). Default 24 h, 20,000 keys. */
  idempotencyTtlMs?: number;
  maxKeys?: number;
}

const KEY_RE = /^[A-Za-z0-9._:~\-/]{1,128}$/;
const REF_RE = /^[\x20-\x7e]{1,128}$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The delegate-payment endpoint's logic. Idempotency (ACP §5): keys are scoped to the agent; the same
 * key and body replay the first answer (`Idempotent-Replayed: true`), another body is 422
 * idempotency_conflict, a request still running is 409 idempotency_in_flight; 5xx answers are not kept.
 * The keys live in memory (24 h); the payment itself is idempotent durably (the intent's idempotencyKey).
 */
export class AcpDelegatedPayments {
  readonly #pay: AgentPay;
  readonly #waitMs: number;
  readonly #ttlMs: number;
  readonly #maxKeys: number;
  readonly #entries = new Map<string, Entry>();

  constructor(pay: AgentPay, opts: AcpOptions = {}) {
    this.#pay = pay;
    this.#waitMs = Math.min(60_000, Math.max(0, opts.approvalWaitMs ?? 20_000));
    this.#ttlMs = opts.idempotencyTtlMs ?? 86_400_000;
    this.#maxKeys = opts.maxKeys ?? 20_000;
  }

  async handle(req: DelegatePaymentRequestIn): Promise<AcpAnswer> {
    if (req.apiVersion === undefined) {
      return err(400, "invalid_request", "missing_api_version", "the API-Version header is required", { supported_versions: [...ACP_API_VERSIONS] });
    }
    if (!(ACP_API_VERSIONS as readonly string[]).includes(req.apiVersion)) {
      return err(400, "invalid_request", "unsupported_api_version", "this API-Version is not supported", { supported_versions: [...ACP_API_VERSIONS] });
    }
    if (req.contentType !== undefined && !/^application\/json\b/i.test(req.contentType)) return invalid("send the body as application/json");
    const auth = /^Bearer ([A-Za-z0-9_.-]{16,16384})$/.exec(req.authorization ?? "");
    if (!auth) {
      return err(401, "unauthorized", "unauthorized", "Authorization must be `Bearer <the agent's signed payment intent>`", { agentpayCode: "UNAUTHENTICATED" });
    }
    if (req.idempotencyKey === undefined || req.idempotencyKey === "") {
      return err(400, "invalid_request", "idempotency_key_required", "Idempotency-Key header is required");
    }
    if (req.idempotencyKey.length > 255) return invalid("Idempotency-Key is at most 255 characters", "Idempotency-Key");
    let json: unknown;
    try {
      json = JSON.parse(req.body);
    } catch {
      return invalid("the body is not JSON");
    }
    const parsed = AcpDelegatePaymentRequest.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path ?? [];
      return invalid(`${path.join(".") || "body"}: ${issue?.message ?? "invalid"}`, `$${path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`);
    }
    // Who is asking: the agent whose key signed the intent (the signature alone; the nonce is spent by the payment).
    let agentId: string;
    let intentBody: unknown;
    try {
      const intent = await this.#pay.agents.verifyIntent(auth[1]!);
      agentId = intent.agentId;
      intentBody = intent.body;
    } catch (e) {
      const code = isAgentPayError(e) ? e.code : "INTENT_MALFORMED";
      return err(401, "unauthorized", "unauthorized", "the signed payment intent in Authorization does not verify", { agentpayCode: code });
    }
    const scope = `${agentId}|${req.idempotencyKey}`;
    const bodyHash = createHash("sha256").update(canonical(json)).digest("base64url");
    const now = Date.now();
    const prior = this.#entries.get(scope);
    if (prior && now - prior.atMs < this.#ttlMs) {
      if (prior.bodyHash !== bodyHash) {
        return err(422, "invalid_request", "idempotency_conflict", "Idempotency-Key has already been used with a different request body", { agentpayCode: "IDEMPOTENCY_CONFLICT" });
      }
      if (prior.state === "done") return { ...prior.answer, headers: { ...prior.answer.headers, "idempotent-replayed": "true" } };
      if (prior.state === "running") {
        return err(409, "invalid_request", "idempotency_in_flight", "A request with this Idempotency-Key is currently being processed", { headers: { "retry-after": "1" } });
      }
      // Waiting for the person: look again (bounded), without spending another intent.
      this.#entries.set(scope, { state: "running", bodyHash, atMs: prior.atMs });
      return this.#settle(scope, bodyHash, prior.atMs, parsed.data, () => this.#resume(prior.paymentId));
    }
    this.#entries.delete(scope);
    this.#entries.set(scope, { state: "running", bodyHash, atMs: now });
    while (this.#entries.size > this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value!);
    return this.#settle(scope, bodyHash, now, parsed.data, () => this.#authorize(auth[1]!, intentBody, parsed.data, req.idempotencyKey!));
  }

  async #settle(scope: string, bodyHash: string, atMs: number, body: AcpDelegatePaymentRequest, run: () => Promise<AuthorizeResult | AcpAnswer>): Promise<AcpAnswer> {
    let answer: AcpAnswer;
    try {
      const r = await run();
      if ("body" in r) answer = r;
      else answer = await this.#answer(scope, bodyHash, atMs, body, r);
    } catch (e) {
      answer = this.#fromError(e);
    }
    const current = this.#entries.get(scope);
    if (answer.status >= 500 || answer.status === 429) this.#entries.delete(scope);
    else if (current?.state === "running" && answer.status !== 409) this.#entries.set(scope, { state: "done", bodyHash, atMs, answer });
    else if (current?.state === "running") this.#entries.delete(scope);
    return answer;
  }

  /** Checks the allowance against the signed intent, then asks agentpay for the payment. */
  async #authorize(intentJws: string, intentBody: unknown, body: AcpDelegatePaymentRequest, idempotencyKey: string): Promise<AuthorizeResult | AcpAnswer> {
    const pm = body.payment_method;
    const a = body.allowance;
    if (pm.card_number_type !== "network_token" || !/^sw_[0-9a-z]{8,64}$/.test(pm.number)) {
      // Never echo the number: it may be a real card's.
      return refused("agentpay holds no cards: send card_number_type network_token with the agent's sub-wallet id as number", "$.payment_method.number");
    }
    if (!/^mer_[0-9a-z]{8,64}$/.test(a.merchant_id)) return invalid("merchant_id must be an agentpay merchant id (mer_…)", "$.allowance.merchant_id");
    if (!Number.isSafeInteger(a.max_amount) || a.max_amount <= 0) return invalid("max_amount must be a positive integer of minor units", "$.allowance.max_amount");
    if (!REF_RE.test(a.checkout_session_id)) return invalid("checkout_session_id must be 1-128 printable ASCII characters", "$.allowance.checkout_session_id");
    if (!KEY_RE.test(idempotencyKey)) return invalid("agentpay takes Idempotency-Keys of 1-128 characters A-Z a-z 0-9 . _ : ~ - /", "Idempotency-Key");
    const expiresAtMs = RFC3339_RE.test(a.expires_at) ? Date.parse(a.expires_at) : Number.NaN;
    if (!Number.isFinite(expiresAtMs)) return invalid("expires_at must be an RFC 3339 date-time", "$.allowance.expires_at");
    const clockNow = this.#pay.clock.nowMs();
    if (expiresAtMs <= clockNow) return refused("the allowance has expired", "$.allowance.expires_at");
    // The token must not outlive the allowance: it lives the issuer's token lifetime (whole seconds).
    if (Math.floor((clockNow + this.#pay.tokens.ttlMs) / 1000) * 1000 > expiresAtMs) {
      return refused(`agentpay's tokens live ${Math.round(this.#pay.tokens.ttlMs / 1000)} s: expires_at must be at least that far away`, "$.allowance.expires_at");
    }
    if (body.risk_signals.some((s) => s.action === "blocked")) return refused("the client's risk signals block this payment", "$.risk_signals");
    const currency = a.currency.toUpperCase();
    // The signed intent must say exactly what the allowance says.
    const b = (intentBody !== null && typeof intentBody === "object" ? intentBody : {}) as Record<string, unknown>;
    const mismatch = (field: string, param: string) => refused(`the signed intent's ${field} is not the allowance's`, param);
    if (b.action !== "pay") return mismatch("action", "$");
    if (b.subWalletId !== pm.number) return mismatch("subWalletId", "$.payment_method.number");
    if (b.merchantId !== a.merchant_id) return mismatch("merchantId", "$.allowance.merchant_id");
    if (b.currency !== currency) return mismatch("currency", "$.allowance.currency");
    let minor: bigint;
    try {
      minor = parseAmount(b.amount, currency, this.#pay.currencies).minor;
    } catch {
      return mismatch("amount", "$.allowance.max_amount");
    }
    if (minor !== BigInt(a.max_amount)) return mismatch("amount", "$.allowance.max_amount");
    if (b.reference !== a.checkout_session_id) return mismatch("reference", "$.allowance.checkout_session_id");
    if (b.idempotencyKey !== idempotencyKey) return mismatch("idempotencyKey", "Idempotency-Key");
    return this.#pay.payments.authorize(intentJws);
  }

  /** A payment that waited for the person, looked at again. */
  async #resume(paymentId: string): Promise<AuthorizeResult | AcpAnswer> {
    const p = this.#pay.payments.get(paymentId);
    if (p.status === "pending_approval") {
      return { status: "pending_approval", paymentId, approvalId: p.approvalId!, expiresAtMs: p.expiresAtMs!, decision: p.decision };
    }
    return this.#resultOf(paymentId);
  }

  #resultOf(paymentId: string): AuthorizeResult {
    const p = this.#pay.payments.get(paymentId);
    if (p.status === "authorized") {
      const t = this.#pay.payments.issuedToken(paymentId)!;
      return { status: "approved", paymentId, token: t.token, tokenId: p.tokenId!, expiresAtMs: t.expiresAtMs, decision: p.decision };
    }
    if (p.status === "pending_approval") return { status: "pending_approval", paymentId, approvalId: p.approvalId!, expiresAtMs: p.expiresAtMs!, decision: p.decision };
    return { status: p.status as "captured" | "voided" | "expired" | "denied", paymentId, decision: p.decision };
  }

  async #answer(scope: string, bodyHash: string, atMs: number, body: AcpDelegatePaymentRequest, r: AuthorizeResult): Promise<AcpAnswer> {
    let result = r;
    if (result.status === "pending_approval") {
      const p = await this.#pay.payments.wait(result.paymentId, { timeoutMs: this.#waitMs });
      result = this.#resultOf(p.id);
      if (result.status === "pending_approval") {
        this.#entries.set(scope, { state: "waiting", bodyHash, atMs, paymentId: result.paymentId });
        return err(409, "invalid_request", "idempotency_in_flight", "the payment waits for the person's approval: repeat this request (same Idempotency-Key and body) to get the token", {
          headers: { "retry-after": "5", "agentpay-payment-id": result.paymentId },
        });
      }
    }
    if (result.status !== "approved") {
      return refused(`the payment was ${result.status}`, undefined, result.status === "denied" ? "X402_PAYMENT_DENIED" : undefined);
    }
    const p = this.#pay.payments.get(result.paymentId);
    const metadata: Record<string, string> = {
      ...body.metadata,
      source: "agentpay",
      merchant_id: body.allowance.merchant_id,
      idempotency_key: scope.slice(scope.indexOf("|") + 1),
      payment_id: result.paymentId,
      expires_at: new Date(result.expiresAtMs).toISOString(),
    };
    return { status: 201, body: { id: result.token, created: new Date(p.authorizedAtMs ?? Date.now()).toISOString(), metadata }, headers: {} };
  }

  #fromError(e: unknown): AcpAnswer {
    // 5xx: ACP's examples' codes (its schema's code list has none for them).
    if (!isAgentPayError(e)) return err(500, "processing_error", "internal_server_error", "internal error");
    const code = e.code;
    if (code === "PAYMENT_DECLINED") {
      const reasons = ((e.details as { reasons?: Array<{ code: string }> }).reasons ?? []).map((r) => r.code).join(", ");
      return refused(`declined by the sub-wallet's rules: ${reasons || "see agentpay"}`, undefined, code);
    }
    if (code === "IDEMPOTENCY_CONFLICT") return err(422, "invalid_request", "idempotency_conflict", "Idempotency-Key has already been used with a different payment", { agentpayCode: code });
    if (code.startsWith("INTENT_") || code === "AGENT_DISABLED" || code === "AGENT_NOT_FOUND") {
      return err(401, "unauthorized", "unauthorized", "the signed payment intent is not acceptable", { agentpayCode: code });
    }
    if (code === "ENGINE_OVERLOADED" || code === "RATE_LIMITED") return err(429, "rate_limit_exceeded", "too_many_requests", "try again shortly", { agentpayCode: code, headers: { "retry-after": "1" } });
    if (code === "ENGINE_CLOSED" || code === "STORE_FAILURE" || code === "NOT_LEADER") return err(503, "service_unavailable", "service_unavailable", "service unavailable", { agentpayCode: code, headers: { "retry-after": "1" } });
    if (code === "INTERNAL_ERROR" || code === "INVARIANT_VIOLATION") return err(500, "processing_error", "internal_server_error", "internal error", { agentpayCode: code });
    // Refusals by the rules or the state (no grant, frozen, unknown merchant, insufficient funds, …).
    return refused(e.message, undefined, code);
  }
}
