// agentpay's ledger scheme for stock x402 code (@x402/core and what is built on it): a server scheme for
// x402ResourceServer (with agentpay as its facilitator: HTTPFacilitatorClient at <agentpay>/x402), and a
// client scheme for x402Client (so @x402/fetch and friends pay agentpay merchants within the agent's
// grant). Typed with this module's own x402 types, which are @x402/core's (test/x402/x402-core.test.ts).
import { AgentPayError, defaultCurrencies, isId, parseAmount } from "../core/index.ts";
import type { Amount, CurrencyRegistry } from "../core/index.ts";
import { obtainPayment, payable } from "./fetch.ts";
import type { X402Payer } from "./fetch.ts";
import { TOKEN_SCHEME, X402_VERSION } from "./types.ts";
import type { Network, PaymentRequirements, SupportedKind } from "./types.ts";

/** x402's AssetAmount and Price. */
export interface AssetAmount { asset: string; amount: string; extra?: Record<string, unknown> }
export type Price = string | number | AssetAmount;

/**
 * The `agentpay-token` scheme for an x402ResourceServer: prices are `{ amount: "<minor units>", asset: "USD" }`
 * or a decimal string with its currency (`"0.25 USD"`, `"$0.25"`); numbers are refused (no floats for
 * money). payTo is the merchant id. Payments are settled before the handler runs (x402's `upfront` flow),
 * so a resource is served only once its payment is captured.
 */
export function tokenSchemeServer(opts: { currencies?: CurrencyRegistry } = {}) {
  const currencies = opts.currencies ?? defaultCurrencies;
  return {
    scheme: TOKEN_SCHEME,
    defaultAssetTransferMethod: "default",
    paymentFlows: { default: { supported: ["upfront", "authorization"] as const, default: "upfront" as const } },
    async parsePrice(price: Price, _network: Network): Promise<AssetAmount> {
      let a: Amount;
      if (typeof price === "object" && price !== null) {
        if (!/^[1-9]\d{0,39}$/.test(price.amount)) throw new AgentPayError("INVALID_AMOUNT", "amount must be a positive integer of minor units", { field: "amount" });
        a = { minor: BigInt(price.amount), currency: price.asset };
        currencies.exponent(a.currency);
      } else if (typeof price === "string") {
        const m = /^\s*(?:\$\s*([0-9.]+)|([0-9.]+)\s+([A-Za-z0-9._:-]{1,64}))\s*$/.exec(price);
        if (!m) throw new AgentPayError("INVALID_AMOUNT", "a price is \"0.25 USD\" or \"$0.25\"", { field: "price" });
        a = m[1] !== undefined ? parseAmount(m[1], "USD", currencies) : parseAmount(m[2], m[3], currencies);
      } else {
        throw new AgentPayError("INVALID_AMOUNT", "give prices as strings or minor units, never as numbers", { field: "price" });
      }
      if (a.minor <= 0n) throw new AgentPayError("INVALID_AMOUNT", "a price must be positive", { field: "price" });
      return { amount: a.minor.toString(), asset: a.currency };
    },
    getAssetDecimals(asset: string): number | undefined {
      return currencies.has(asset) ? currencies.exponent(asset) : undefined;
    },
    async enhancePaymentRequirements(req: PaymentRequirements, kind: SupportedKind, _extensions: string[]): Promise<PaymentRequirements> {
      if (!isId(req.payTo, "mer")) throw new AgentPayError("INVALID_ID", "payTo must be the agentpay merchant id", { field: "payTo" });
      return {
        ...req,
        extra: {
          ...req.extra, issuer: kind.extra?.issuer, merchantId: req.payTo, currency: req.asset,
          ...(currencies.has(req.asset) ? { decimals: currencies.exponent(req.asset) } : {}),
        },
      };
    },
  };
}

/**
 * The `agentpay-token` scheme for an x402Client: pays an offer through agentpay within the agent's grant
 * (declines, approvals and `maxAmount` as fetchWithPayment has them) and hands over the token.
 */
export function tokenSchemeClient(payer: X402Payer, opts: { subWalletId: string; maxAmount: Amount; grantId?: string; approvalTimeoutMs?: number }) {
  if (!isId(opts?.subWalletId, "sw")) throw new AgentPayError("INVALID_ID", "subWalletId must be an id starting with sw_", { field: "subWalletId" });
  return {
    scheme: TOKEN_SCHEME,
    async createPaymentPayload(x402Version: number, requirements: PaymentRequirements): Promise<{ x402Version: number; payload: Record<string, unknown> }> {
      if (x402Version !== X402_VERSION) throw new AgentPayError("INVALID_INPUT", "agentpay pays x402 v2", { field: "x402Version" });
      const chosen = payable(requirements, opts.maxAmount);
      if (!chosen || requirements.scheme !== TOKEN_SCHEME) {
        throw new AgentPayError("X402_NO_PAYABLE_OFFER", "this offer cannot be paid within maxAmount", {
          offers: [{ scheme: requirements.scheme, network: requirements.network, amount: requirements.amount, asset: requirements.asset }],
        });
      }
      const { result } = await obtainPayment(payer, chosen, {
        subWalletId: opts.subWalletId, approvalTimeoutMs: opts.approvalTimeoutMs ?? 60_000, ...(opts.grantId ? { grantId: opts.grantId } : {}),
      });
      return { x402Version: X402_VERSION, payload: { token: result.token } };
    },
  };
}
