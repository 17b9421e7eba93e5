import { randomBytes } from "node:crypto";
import { AgentPayError, expectObject, newId, validateId } from "../core/index.ts";
import type { CurrencyRegistry } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import { WebhookAddressPolicy } from "../events/index.ts";
import { createAccount } from "../ledger/index.ts";
import type { Ledger } from "../ledger/index.ts";

export type Settlement = "ledger" | "chain";

/** A merchant as others see it: no secret in here. */
export interface Merchant {
  readonly id: string;
  readonly name: string;
  /** Merchant category code (ISO 18245), 4 digits. */
  readonly category: string;
  readonly callbackUrl?: string;
  readonly settlement: Settlement;
  /** For chain settlement: the address that redeems vouchers (0x…, 20 bytes). */
  readonly chainAddress?: string;
  /** Ledger accounts that receive captures, one per currency, created on first use. */
  readonly payoutAccounts: Readonly<Record<string, string>>;
  readonly status: "active" | "disabled";
  readonly createdAtMs: number;
}

/** Stored record: the merchant plus its callback secret (never returned by getters). */
interface MerchantRecord extends Merchant {
  readonly callbackSecret: string;
}

export interface RegisterMerchantInput {
  name: string;
  category: string;
  callbackUrl?: string;
  /** Bring your own secret (≥ 32 chars), or one is generated and returned once. */
  callbackSecret?: string;
  settlement?: Settlement;
  chainAddress?: string;
  /** Currencies to open payout accounts for now (more open on first capture). */
  currencies?: string[];
}

export interface RegisteredMerchant {
  readonly merchant: Merchant;
  /** Shown once: signs the callbacks this merchant receives. */
  readonly callbackSecret: string;
}

export const merchantKey = (id: string): string => `mc/${id}`;
const MCC_RE = /^\d{4}$/;
/** The events module's limit on a webhook URL. */
const MAX_URL_CHARS = 2048;
const NAME_RE = /^[\p{L}\p{N} .,&'()_\-]{1,100}$/u;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

function publicView(r: MerchantRecord): Merchant {
  const { callbackSecret: _secret, ...merchant } = r;
  return merchant;
}

function checkUrl(url: unknown, policy: WebhookAddressPolicy): string {
  if (typeof url !== "string" || url.length > 2048) {
    throw new AgentPayError("INVALID_INPUT", "callbackUrl must be an http(s) URL", { field: "callbackUrl" });
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AgentPayError("INVALID_INPUT", "callbackUrl must be an http(s) URL", { field: "callbackUrl" });
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new AgentPayError("INVALID_INPUT", "callbackUrl must be an http(s) URL", { field: "callbackUrl" });
  }
  if (u.username || u.password) throw new AgentPayError("INVALID_INPUT", "callbackUrl must not carry credentials", { field: "callbackUrl" });
  // The server fetches this URL (SSRF): refuse what is private as written. Names are checked again,
  // resolved, at every delivery.
  if (policy.refusesHost(u.hostname)) {
    throw new AgentPayError("INVALID_INPUT",
      "callbackUrl points at a private, loopback or link-local address; open agentpay with delivery: { allowPrivateNetworks: true } to allow it",
      { field: "callbackUrl" });
  }
  // Normalising percent-encodes: check what is stored, which every callback event must carry.
  if (u.href.length > MAX_URL_CHARS) throw new AgentPayError("INVALID_INPUT", `callbackUrl must be at most ${MAX_URL_CHARS} characters`, { field: "callbackUrl" });
  return u.href;
}

/** Reads a merchant inside a command; with the secret, for signing callbacks. */
export function getMerchantIn(tx: Tx, id: string): Merchant & { readonly callbackSecret: string } {
  const m = tx.get<MerchantRecord>(merchantKey(id));
  if (!m) throw new AgentPayError("MERCHANT_NOT_FOUND", "no such merchant", { merchantId: id });
  return m;
}

/** The merchant's payout account in `currency`, opened inside the caller's command if needed. */
export function payoutAccountIn(tx: Tx, ledger: Ledger, merchantId: string, currency: string): string {
  const m = tx.get<MerchantRecord>(merchantKey(merchantId));
  if (!m) throw new AgentPayError("MERCHANT_NOT_FOUND", "no such merchant", { merchantId });
  const existing = Object.hasOwn(m.payoutAccounts, currency) ? m.payoutAccounts[currency] : undefined;
  if (existing) return existing;
  const id = `pay:${m.id}:${currency}`;
  createAccount(tx, ledger.context, { id, currency, code: "merchant" });
  tx.put(merchantKey(m.id), { ...m, payoutAccounts: { ...m.payoutAccounts, [currency]: id } });
  return id;
}

export interface MerchantsOptions {
  /** Which callback URLs are accepted as written (default: nothing private, loopback or link-local). */
  webhookPolicy?: WebhookAddressPolicy;
}

export class Merchants {
  readonly #engine: Engine;
  readonly #ledger: Ledger;
  readonly #currencies: CurrencyRegistry;
  readonly #webhookPolicy: WebhookAddressPolicy;

  constructor(engine: Engine, ledger: Ledger, currencies: CurrencyRegistry, options: MerchantsOptions = {}) {
    this.#engine = engine;
    this.#ledger = ledger;
    this.#currencies = currencies;
    this.#webhookPolicy = options.webhookPolicy ?? new WebhookAddressPolicy();
  }

  register(input: RegisterMerchantInput): Promise<RegisteredMerchant> {
    let record: Omit<MerchantRecord, "id" | "createdAtMs" | "payoutAccounts">;
    let currencies: string[];
    try {
      expectObject<RegisterMerchantInput>(input, ["name", "category", "callbackUrl", "callbackSecret", "settlement", "chainAddress", "currencies"], "merchant input");
      if (typeof input.name !== "string" || !NAME_RE.test(input.name)) {
        throw new AgentPayError("INVALID_INPUT", "name must be 1-100 letters, digits, spaces or .,&'()_-", { field: "name" });
      }
      if (typeof input.category !== "string" || !MCC_RE.test(input.category)) {
        throw new AgentPayError("INVALID_INPUT", "category must be a 4-digit MCC", { field: "category" });
      }
      const settlement = input.settlement ?? "ledger";
      if (settlement !== "ledger" && settlement !== "chain") {
        throw new AgentPayError("INVALID_INPUT", "settlement must be ledger or chain", { field: "settlement" });
      }
      if (settlement === "chain" && (typeof input.chainAddress !== "string" || !ADDRESS_RE.test(input.chainAddress))) {
        throw new AgentPayError("INVALID_INPUT", "chain settlement needs a 0x address", { field: "chainAddress" });
      }
      if (settlement === "ledger" && input.chainAddress !== undefined) {
        throw new AgentPayError("INVALID_INPUT", "chainAddress applies to chain settlement only", { field: "chainAddress" });
      }
      if (input.callbackSecret !== undefined && (typeof input.callbackSecret !== "string" || input.callbackSecret.length < 32 || input.callbackSecret.length > 256)) {
        throw new AgentPayError("INVALID_INPUT", "callbackSecret must be 32-256 characters", { field: "callbackSecret" });
      }
      currencies = input.currencies ?? [];
      if (!Array.isArray(currencies) || currencies.length > 16) {
        throw new AgentPayError("INVALID_INPUT", "currencies must be an array of at most 16", { field: "currencies" });
      }
      for (const c of currencies) this.#currencies.exponent(c);
      record = {
        name: input.name, category: input.category, settlement, status: "active",
        callbackSecret: input.callbackSecret ?? randomBytes(32).toString("base64url"),
        ...(input.callbackUrl !== undefined ? { callbackUrl: checkUrl(input.callbackUrl, this.#webhookPolicy) } : {}),
        ...(settlement === "chain" ? { chainAddress: input.chainAddress!.toLowerCase() } : {}),
      };
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#engine.submit((tx) => {
      const id = newId("mer");
      tx.put(merchantKey(id), { ...record, id, createdAtMs: tx.nowMs, payoutAccounts: {} });
      for (const c of new Set(currencies)) payoutAccountIn(tx, this.#ledger, id, c);
      const stored = tx.get<MerchantRecord>(merchantKey(id))!;
      return { merchant: publicView(stored), callbackSecret: stored.callbackSecret };
    });
  }

  get(merchantId: string): Merchant {
    const m = this.#engine.read<MerchantRecord>(merchantKey(validateId(merchantId, "mer", "merchantId")));
    if (!m) throw new AgentPayError("MERCHANT_NOT_FOUND", "no such merchant", { merchantId });
    return publicView(m);
  }

  /** Enables or disables a merchant; a disabled merchant gets no new payments and cannot redeem. */
  /** Every merchant, oldest first (for operators and tools; O(merchants)). */
  list(): Merchant[] {
    const out: Merchant[] = [];
    for (const [, r] of this.#engine.scan<MerchantRecord>("mc/")) out.push(publicView(r));
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  setStatus(merchantId: string, status: "active" | "disabled"): Promise<Merchant> {
    if (status !== "active" && status !== "disabled") {
      return Promise.reject(new AgentPayError("INVALID_INPUT", "status must be active or disabled", { field: "status" }));
    }
    return this.#engine.submit((tx) => {
      const m = getMerchantIn(tx, validateId(merchantId, "mer", "merchantId"));
      const next = { ...m, status };
      tx.put(merchantKey(m.id), next);
      return publicView(next);
    });
  }

  /** The merchant's settled balance in `currency` (0 when no payout account exists yet). */
  balanceMinor(merchantId: string, currency: string): bigint {
    const m = this.get(merchantId);
    const acct = Object.hasOwn(m.payoutAccounts, currency) ? m.payoutAccounts[currency] : undefined;
    return acct ? this.#ledger.balance(acct).postedMinor : 0n;
  }
}
