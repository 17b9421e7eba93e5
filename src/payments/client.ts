import { AgentPayError, formatAmount, newId, validateAmount } from "../core/index.ts";
import type { Amount, Clock, CurrencyRegistry } from "../core/index.ts";
import { createIntentSigner } from "../agents/index.ts";
import type { AuthorizeResult } from "./authorize.ts";
import type { Payments } from "./payments.ts";
import type { Payment } from "./records.ts";

export interface AgentClientOptions {
  agentId: string;
  /** The agent's private JWK: it never leaves the client; only signatures do. */
  privateKeyJwk: Record<string, unknown>;
  kid?: string;
}

export interface RequestPaymentInput {
  subWalletId: string;
  merchantId: string;
  amount: Amount;
  reference?: string;
  /** Default: a new random key (a retry should pass the same one). */
  idempotencyKey?: string;
  grantId?: string;
}

/**
 * The agent's side, in-process: every call is a signed intent, exactly what an agent in
 * another process would send over HTTP.
 */
export class AgentClient {
  readonly agentId: string;
  readonly #sign: Promise<(body: unknown, opts?: { nowMs?: number }) => Promise<string>>;
  readonly #clock: Clock;
  readonly #payments: Payments;
  readonly #currencies: CurrencyRegistry;

  constructor(payments: Payments, currencies: CurrencyRegistry, clock: Clock, opts: AgentClientOptions) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "client options must be an object");
    this.agentId = opts.agentId;
    this.#payments = payments;
    this.#currencies = currencies;
    this.#clock = clock;
    this.#sign = createIntentSigner(opts.privateKeyJwk, { agentId: opts.agentId, ...(opts.kid ? { kid: opts.kid } : {}) });
  }

  /** Signs an arbitrary intent body (for sending over HTTP yourself). */
  async sign(body: unknown): Promise<string> {
    return (await this.#sign)(body, { nowMs: this.#clock.nowMs() });
  }

  async requestPayment(input: RequestPaymentInput): Promise<AuthorizeResult> {
    if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "payment input must be an object");
    validateAmount(input.amount, { positive: true, registry: this.#currencies });
    const body = {
      action: "pay", subWalletId: input.subWalletId, merchantId: input.merchantId,
      amount: formatAmount(input.amount, this.#currencies), currency: input.amount.currency,
      idempotencyKey: input.idempotencyKey ?? newId("idem"),
      ...(input.reference !== undefined ? { reference: input.reference } : {}),
      ...(input.grantId !== undefined ? { grantId: input.grantId } : {}),
    };
    return this.#payments.authorize(await this.sign(body));
  }

  async voidPayment(paymentId: string): Promise<Payment> {
    return this.#payments.voidByAgent(await this.sign({ action: "void", paymentId }));
  }

  async fetchToken(paymentId: string): ReturnType<Payments["fetchToken"]> {
    return this.#payments.fetchToken(await this.sign({ action: "fetch_token", paymentId }));
  }
}
