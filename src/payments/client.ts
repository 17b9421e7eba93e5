import { AgentPayError } from "../core/index.ts";
import type { Clock, CurrencyRegistry } from "../core/index.ts";
import { buildFetchTokenIntent, buildPayIntent, buildVoidIntent } from "./body.ts";
import type { BuildPayIntentInput } from "./body.ts";
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

export type RequestPaymentInput = BuildPayIntentInput;

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
    return this.#payments.authorize(await this.sign(buildPayIntent(input, this.#currencies)));
  }

  async voidPayment(paymentId: string): Promise<Payment> {
    return this.#payments.voidByAgent(await this.sign(buildVoidIntent(paymentId)));
  }

  async fetchToken(paymentId: string): ReturnType<Payments["fetchToken"]> {
    return this.#payments.fetchToken(await this.sign(buildFetchTokenIntent(paymentId)));
  }
}
