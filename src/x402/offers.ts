// What a paid route offers (x402 PaymentRequirements in agentpay's schemes), and the reference that
// binds a payment to the one request it buys.
import { createHash } from "node:crypto";
import { AgentPayError, validateAmount, validateId } from "../core/index.ts";
import type { Amount, CurrencyRegistry } from "../core/index.ts";
import { LEDGER_NAMESPACE, TOKEN_SCHEME, VOUCHER_SCHEME } from "./types.ts";
import type { Network, PaymentRequirements } from "./types.ts";

const CAIP2_REFERENCE_RE = /^[-_a-zA-Z0-9]{1,32}$/;

/**
 * The CAIP-2 id of an issuer's ledger rail: `agentpay:<issuer>` when the issuer name is a valid CAIP-2
 * reference (`[-_a-zA-Z0-9]{1,32}`, e.g. the default `agentpay:agentpay`), else `agentpay:` and the
 * first 32 characters of the base64url SHA-256 of the issuer name.
 */
export function ledgerNetwork(issuer: string): Network {
  const ref = CAIP2_REFERENCE_RE.test(issuer) ? issuer : createHash("sha256").update(issuer).digest("base64url").slice(0, 32);
  return `${LEDGER_NAMESPACE}:${ref}`;
}

/** The CAIP-2 id of an EVM chain. */
export function evmNetwork(chainId: number): Network {
  return `eip155:${chainId}`;
}

/**
 * The payment reference that binds a payment to one request: the method and the path with its query, as
 * the paid route sees them. The agent signs it into its payment intent (the `reference` every statement
 * shows), and the route refuses a token whose payment carries another. Readable, and exact by its hash:
 * `x402 GET /weather?city=paris #<22 characters of SHA-256>`, at most 128 printable ASCII characters.
 */
export function requestReference(method: string, pathAndQuery: string): string {
  const m = method.toUpperCase();
  const hash = createHash("sha256").update(`${m} ${pathAndQuery}`).digest("base64url").slice(0, 22);
  let shown = pathAndQuery.replace(/[^\x21-\x7e]/g, "?");
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  return `x402 ${m.slice(0, 10)} ${shown} #${hash}`;
}

/** How an on-chain merchant is paid: the voucher scheme's chain, contract and token. */
export interface OnchainOffer {
  /** The EVM chain id (the offer's network is `eip155:<chainId>`). */
  chainId: number;
  /** The AgentPaySettlement contract. */
  settlement: string;
  /** The ERC-20 token contract (the offer's `asset`). */
  token: string;
  /** The merchant's address (the offer's `payTo`): the only one that may redeem the voucher. */
  merchantAddress: string;
}

export interface OfferInput {
  merchantId: string;
  price: Amount;
  issuer: string;
  reference: string;
  maxTimeoutSeconds: number;
  currencies: CurrencyRegistry;
  onchain?: OnchainOffer;
}

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** Checks an on-chain offer's configuration (addresses lower-cased, as vouchers carry them). */
export function checkOnchain(o: unknown): OnchainOffer {
  const v = o as OnchainOffer;
  if (v === null || typeof v !== "object") throw new AgentPayError("INVALID_INPUT", "onchain must be an object", { field: "onchain" });
  if (!Number.isSafeInteger(v.chainId) || v.chainId <= 0) throw new AgentPayError("INVALID_INPUT", "onchain.chainId must be a positive integer", { field: "onchain.chainId" });
  for (const f of ["settlement", "token", "merchantAddress"] as const) {
    if (typeof v[f] !== "string" || !ADDRESS_RE.test(v[f])) throw new AgentPayError("INVALID_INPUT", `onchain.${f} must be a 0x address`, { field: `onchain.${f}` });
  }
  return { chainId: v.chainId, settlement: v.settlement.toLowerCase(), token: v.token.toLowerCase(), merchantAddress: v.merchantAddress.toLowerCase() };
}

/**
 * The route's offers. A merchant that settles on the ledger offers a Token Pay token (`agentpay-token`
 * on `agentpay:<issuer>`, asset = the ISO 4217 currency, payTo = the merchant id); one that settles
 * on-chain offers a voucher (`agentpay-voucher` on `eip155:<chainId>`, asset = the ERC-20 contract,
 * payTo = the merchant's address). Amounts are minor units (the token's smallest unit on-chain).
 */
export function buildOffers(input: OfferInput): PaymentRequirements[] {
  const merchantId = validateId(input.merchantId, "mer", "merchantId");
  const price = validateAmount(input.price, { positive: true, registry: input.currencies });
  const decimals = input.currencies.exponent(price.currency);
  const extra = { issuer: input.issuer, merchantId, currency: price.currency, decimals, reference: input.reference };
  if (input.onchain) {
    const o = input.onchain;
    return [{
      scheme: VOUCHER_SCHEME, network: evmNetwork(o.chainId), amount: price.minor.toString(), asset: o.token, payTo: o.merchantAddress,
      maxTimeoutSeconds: input.maxTimeoutSeconds, extra: { ...extra, settlement: o.settlement },
    }];
  }
  return [{
    scheme: TOKEN_SCHEME, network: ledgerNetwork(input.issuer), amount: price.minor.toString(), asset: price.currency, payTo: merchantId,
    maxTimeoutSeconds: input.maxTimeoutSeconds, extra,
  }];
}

/** Two offers are the same (the fields x402 compares, `extra` by value). */
export function sameOffer(a: PaymentRequirements, b: PaymentRequirements): boolean {
  return a.scheme === b.scheme && a.network === b.network && a.amount === b.amount && a.asset === b.asset && a.payTo === b.payTo
    && a.maxTimeoutSeconds === b.maxTimeoutSeconds && canonical(a.extra ?? {}) === canonical(b.extra ?? {});
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
}
