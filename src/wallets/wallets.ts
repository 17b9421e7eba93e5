import { AgentPayError, expectObject, newId, sameBody, scopedKey, validateAmount, validateId, validateKey } from "../core/index.ts";
import type { Amount, CurrencyRegistry } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import { closeAccount, createAccount, createTransfer, getAccount } from "../ledger/index.ts";
import type { Balance, Ledger, StatementPage, Transfer } from "../ledger/index.ts";
import { budgetStatus, emptyUsage, formatPolicy, parsePolicy, validateTimeZone } from "./policy/index.ts";
import type { BudgetStatus, PolicyInput, Usage } from "./policy/index.ts";
import {
  SUBWALLET_PREFIX, WALLET_PREFIX, policyVersionKey, subWalletKey, usageKey, walletKey,
} from "./records.ts";
import type { SubWallet, SubWalletStatus, Wallet } from "./records.ts";
import { getSubWalletIn, getWalletIn } from "./spend.ts";

export interface CreateWalletInput {
  /** The person this wallet belongs to (your user id). */
  ownerId: string;
  currency: string;
  /**
   * IANA time zone ("Europe/Paris", "UTC", …), required: daily, weekly and monthly budgets start
   * at its midnight, so a silent default would move every calendar limit of a person elsewhere.
   */
  timeZone: string;
}

export interface CreateSubWalletInput {
  name: string;
  /** A retry with the same key returns the sub-wallet created the first time (no second budget move). */
  idempotencyKey?: string;
  /** Moved from the wallet into the sub-wallet at creation. */
  budget?: Amount;
  policy?: PolicyInput;
}

export interface FreezeOptions {
  /**
   * Keep the sub-wallet's outstanding tokens redeemable (only new payments are stopped). Default
   * false: freezing voids every unredeemed token and releases its hold at once. On-chain payments
   * are never voided off-chain: their vouchers stay redeemable on-chain until their deadline.
   */
  keepTokens?: boolean;
}

/** Run inside the freezing command (the payment flow voids outstanding tokens there). */
export type FreezeHook = (tx: Tx, sw: SubWallet) => void;

export interface MoneyOptions {
  /** Required: a retry with the same key returns the original transfer. */
  idempotencyKey: string;
}

/**
 * Hook for the module that owns notification rules: validates a policy's `notify` and returns
 * the clean copy that is stored (never the caller's own objects).
 */
export type NotifyNormalizer = (notify: unknown) => unknown[];

const NAME_RE = /^[\p{L}\p{N} ._\-]{1,64}$/u;
const MAX_SUBWALLETS_PER_WALLET = 1_000;

/**
 * Wallets and sub-wallets. Every change is one engine command: a sub-wallet's account,
 * its budget transfer and its record commit together.
 */
export class Wallets {
  readonly #engine: Engine;
  readonly #ledger: Ledger;
  readonly #currencies: CurrencyRegistry;
  readonly #byWallet = new Map<string, Set<string>>();
  readonly #byOwner = new Map<string, Set<string>>();
  #onFreeze: FreezeHook | undefined;
  #normalizeNotify: NotifyNormalizer = (n) => {
    if (!Array.isArray(n)) throw new AgentPayError("INVALID_INPUT", "notify must be an array", { field: "notify" });
    return structuredClone(n);
  };

  constructor(engine: Engine, ledger: Ledger, currencies: CurrencyRegistry) {
    this.#engine = engine;
    this.#ledger = ledger;
    this.#currencies = currencies;
    engine.observe(SUBWALLET_PREFIX, (_k, before, after) => {
      const sw = after as SubWallet | undefined;
      if (sw && !before) addTo(this.#byWallet, sw.walletId, sw.id);
    });
    engine.observe(WALLET_PREFIX, (_k, before, after) => {
      const w = after as Wallet | undefined;
      if (w && !before) addTo(this.#byOwner, w.ownerId, w.id);
    });
  }

  /** Lets the facade plug in what freezing does to payments in flight (voiding their tokens), in the same command. */
  setFreezeHook(fn: FreezeHook): void {
    this.#onFreeze = fn;
  }

  /** Lets the facade plug in the events module's notification-rule validation. */
  setNotifyNormalizer(fn: NotifyNormalizer): void {
    this.#normalizeNotify = fn;
  }

  #parsePolicy(input: PolicyInput | undefined, currency: string) {
    const parsed = parsePolicy(input ?? {}, currency, this.#currencies);
    if (parsed.notify === undefined) return parsed;
    return { ...parsed, notify: this.#normalizeNotify(parsed.notify) };
  }

  create(input: CreateWalletInput): Promise<Wallet> {
    try {
      expectObject<CreateWalletInput>(input, ["ownerId", "currency", "timeZone"], "wallet input");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#run((tx) => {
      const ownerId = validateKey(input.ownerId, "ownerId");
      this.#currencies.exponent(input.currency);
      if (input.timeZone === undefined) {
        throw new AgentPayError("INVALID_INPUT", "timeZone is required: an IANA zone such as \"Europe/Paris\" or \"UTC\" (calendar budgets start at its midnight)", { field: "timeZone" });
      }
      const timeZone = validateTimeZone(input.timeZone);
      const id = newId("wal");
      const wallet: Wallet = {
        id, ownerId, currency: input.currency, timeZone, accountId: id, fundingAccountId: `fund:${id}`, createdAtMs: tx.nowMs,
      };
      createAccount(tx, this.#ledger.context, { id, currency: input.currency, flags: { debitsMustNotExceedCredits: true }, code: "wallet" });
      createAccount(tx, this.#ledger.context, { id: wallet.fundingAccountId, currency: input.currency, code: "funding" });
      tx.put(walletKey(id), wallet);
      return wallet;
    });
  }

  get(walletId: string): Wallet {
    const w = this.#engine.read<Wallet>(walletKey(validateId(walletId, "wal", "walletId")));
    if (!w) throw new AgentPayError("WALLET_NOT_FOUND", "no such wallet", { walletId });
    return w;
  }

  list(opts: { ownerId: string }): Wallet[] {
    const ids = this.#byOwner.get(validateKey(opts?.ownerId, "ownerId")) ?? new Set<string>();
    return [...ids].map((id) => this.get(id));
  }

  /** Money in from the outside world. Idempotent on `idempotencyKey`. */
  deposit(walletId: string, amount: Amount, opts: MoneyOptions): Promise<Transfer> {
    return this.#run((tx) => {
      const w = getWalletIn(tx, validateId(walletId, "wal", "walletId"));
      const amt = this.#amount(amount, w.currency);
      const key = validateKey(opts?.idempotencyKey, "idempotencyKey");
      return createTransfer(tx, this.#ledger.context, {
        id: scopedKey("dep", w.id, key), debitAccountId: w.fundingAccountId, creditAccountId: w.accountId, amount: amt, code: "deposit",
      });
    });
  }

  /** Money out to the outside world; never more than the wallet's available balance. */
  withdraw(walletId: string, amount: Amount, opts: MoneyOptions): Promise<Transfer> {
    return this.#run((tx) => {
      const w = getWalletIn(tx, validateId(walletId, "wal", "walletId"));
      const amt = this.#amount(amount, w.currency);
      const key = validateKey(opts?.idempotencyKey, "idempotencyKey");
      return createTransfer(tx, this.#ledger.context, {
        id: scopedKey("wdr", w.id, key), debitAccountId: w.accountId, creditAccountId: w.fundingAccountId, amount: amt, code: "withdrawal",
      });
    });
  }

  balance(walletOrSubWalletId: string): Balance {
    if (typeof walletOrSubWalletId === "string" && walletOrSubWalletId.startsWith("sw_")) {
      return this.#ledger.balance(this.getSubWallet(walletOrSubWalletId).accountId);
    }
    return this.#ledger.balance(this.get(walletOrSubWalletId).accountId);
  }

  statement(walletOrSubWalletId: string, opts: { cursor?: string; limit?: number } = {}): StatementPage {
    const accountId = typeof walletOrSubWalletId === "string" && walletOrSubWalletId.startsWith("sw_")
      ? this.getSubWallet(walletOrSubWalletId).accountId
      : this.get(walletOrSubWalletId).accountId;
    return this.#ledger.statement(accountId, opts);
  }

  createSubWallet(walletId: string, input: CreateSubWalletInput): Promise<SubWallet> {
    try {
      expectObject<CreateSubWalletInput>(input, ["name", "budget", "policy", "idempotencyKey"], "sub-wallet input");
    } catch (e) {
      return Promise.reject(e);
    }
    let wallet: Wallet;
    let policy;
    let key: string | undefined;
    try {
      key = input.idempotencyKey === undefined ? undefined : validateKey(input.idempotencyKey, "idempotencyKey");
      wallet = this.get(walletId);
      if (typeof input.name !== "string" || !NAME_RE.test(input.name)) {
        throw new AgentPayError("INVALID_INPUT", "name must be 1-64 letters, digits, spaces or . _ -", { field: "name" });
      }
      policy = { ...this.#parsePolicy(input.policy, wallet.currency), version: 1 };
    } catch (e) {
      return Promise.reject(e);
    }
    const request = { name: input.name, budget: input.budget, policy };
    return this.#run((tx) => {
      const w = getWalletIn(tx, wallet.id);
      const ik = key === undefined ? undefined : `ik/sw/${w.id}/${key}`;
      const prior = ik === undefined ? undefined : tx.get<{ request: unknown; subWalletId: string }>(ik);
      if (prior) {
        if (!sameBody(prior.request, request)) {
          throw new AgentPayError("IDEMPOTENCY_CONFLICT", "this idempotency key was used with a different request", { idempotencyKey: key });
        }
        return getSubWalletIn(tx, prior.subWalletId);
      }
      if ((this.#byWallet.get(w.id)?.size ?? 0) >= MAX_SUBWALLETS_PER_WALLET) {
        throw new AgentPayError("LIMIT_EXCEEDED", "too many sub-wallets in this wallet", { max: MAX_SUBWALLETS_PER_WALLET });
      }
      const id = newId("sw");
      createAccount(tx, this.#ledger.context, { id, currency: w.currency, flags: { debitsMustNotExceedCredits: true }, code: "subwallet" });
      if (input.budget !== undefined) {
        const amt = this.#amount(input.budget, w.currency);
        createTransfer(tx, this.#ledger.context, {
          id: scopedKey("bud0", id), debitAccountId: w.accountId, creditAccountId: id, amount: amt, code: "budget",
        });
      }
      const sw: SubWallet = {
        id, walletId: w.id, ownerId: w.ownerId, name: input.name, currency: w.currency, timeZone: w.timeZone,
        accountId: id, status: "active", policy, createdAtMs: tx.nowMs,
      };
      tx.put(subWalletKey(id), sw);
      tx.put(policyVersionKey(id, 1), { policy, atMs: tx.nowMs });
      tx.put(usageKey(id), emptyUsage());
      if (ik !== undefined) tx.put(ik, { request, subWalletId: id });
      return sw;
    });
  }

  /** The sub-wallet; notification channel secrets are shown as "[redacted]". */
  getSubWallet(subWalletId: string): SubWallet {
    const sw = this.#stored(subWalletId);
    return sw.policy.notify === undefined ? sw : { ...sw, policy: { ...sw.policy, notify: redactNotify(sw.policy.notify) } };
  }

  #stored(subWalletId: string): SubWallet {
    const sw = this.#engine.read<SubWallet>(subWalletKey(validateId(subWalletId, "sw", "subWalletId")));
    if (!sw) throw new AgentPayError("SUBWALLET_NOT_FOUND", "no such sub-wallet", { subWalletId });
    return sw;
  }

  listSubWallets(walletId: string): SubWallet[] {
    const w = this.get(walletId);
    return [...(this.#byWallet.get(w.id) ?? [])].map((id) => this.getSubWallet(id));
  }

  /** Moves budget from the wallet into the sub-wallet. */
  fundSubWallet(subWalletId: string, amount: Amount, opts: MoneyOptions): Promise<Transfer> {
    return this.#move(subWalletId, amount, opts, "in");
  }

  /** Moves unspent budget from the sub-wallet back to the wallet. */
  defundSubWallet(subWalletId: string, amount: Amount, opts: MoneyOptions): Promise<Transfer> {
    return this.#move(subWalletId, amount, opts, "out");
  }

  #move(subWalletId: string, amount: Amount, opts: MoneyOptions, dir: "in" | "out"): Promise<Transfer> {
    return this.#run((tx) => {
      const sw = getSubWalletIn(tx, validateId(subWalletId, "sw", "subWalletId"));
      if (sw.status === "closed") throw new AgentPayError("SUBWALLET_CLOSED", "the sub-wallet is closed", { subWalletId });
      const w = getWalletIn(tx, sw.walletId);
      const amt = this.#amount(amount, sw.currency);
      const key = validateKey(opts?.idempotencyKey, "idempotencyKey");
      return createTransfer(tx, this.#ledger.context, {
        id: scopedKey(dir === "in" ? "bud" : "unb", sw.id, key),
        debitAccountId: dir === "in" ? w.accountId : sw.accountId,
        creditAccountId: dir === "in" ? sw.accountId : w.accountId,
        amount: amt, code: dir === "in" ? "budget" : "unbudget",
      });
    });
  }

  /** Replaces the policy; the version increases, and earlier decisions keep the version they were made under. */
  updatePolicy(subWalletId: string, policyInput: PolicyInput): Promise<SubWallet> {
    let parsed;
    let current: SubWallet;
    try {
      if (policyInput === null || typeof policyInput !== "object" || Array.isArray(policyInput)) {
        throw new AgentPayError("INVALID_INPUT", "policy must be an object ({} for no rules)", { field: "policy" });
      }
      current = this.getSubWallet(subWalletId);
      parsed = this.#parsePolicy(policyInput, current.currency);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#run((tx) => {
      const sw = getSubWalletIn(tx, current.id);
      if (sw.status === "closed") throw new AgentPayError("SUBWALLET_CLOSED", "the sub-wallet is closed", { subWalletId });
      const version = (sw.policy.version ?? 1) + 1;
      const next: SubWallet = { ...sw, policy: { ...parsed, version } };
      tx.put(subWalletKey(sw.id), next);
      tx.put(policyVersionKey(sw.id, version), { policy: next.policy, atMs: tx.nowMs });
      return next;
    });
  }

  /** The policy as the person wrote it (amounts as decimal strings). */
  policyOf(subWalletId: string): PolicyInput & { version: number } {
    const sw = this.getSubWallet(subWalletId); // redacted
    return { ...formatPolicy(sw.policy, this.#currencies), version: sw.policy.version ?? 1 };
  }

  /**
   * The kill switch: no new payments from the sub-wallet, and (unless `keepTokens`) every
   * outstanding unredeemed token voided in the same command, its hold released. Idempotent.
   */
  freeze(subWalletId: string, opts: FreezeOptions = {}): Promise<SubWallet> {
    try {
      expectObject<FreezeOptions>(opts, ["keepTokens"], "freeze options");
      if (opts.keepTokens !== undefined && typeof opts.keepTokens !== "boolean") {
        throw new AgentPayError("INVALID_INPUT", "keepTokens must be a boolean", { field: "keepTokens" });
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const voidTokens = opts.keepTokens !== true;
    return this.#setStatus(subWalletId, "frozen", ["active", "frozen"], voidTokens ? this.#onFreeze : undefined);
  }

  unfreeze(subWalletId: string): Promise<SubWallet> {
    return this.#setStatus(subWalletId, "active", ["active", "frozen"]);
  }

  /** Closes the sub-wallet: what is left returns to the wallet. Refused while holds are pending. */
  close(subWalletId: string): Promise<SubWallet> {
    return this.#run((tx) => {
      const sw = getSubWalletIn(tx, validateId(subWalletId, "sw", "subWalletId"));
      if (sw.status === "closed") return sw;
      const account = getAccount(tx, sw.accountId);
      if (account.debitsPending > 0n) {
        throw new AgentPayError("SUBWALLET_HAS_HOLDS", "the sub-wallet has pending payments; void or capture them first", { subWalletId });
      }
      const rest = account.creditsPosted - account.debitsPosted;
      if (rest > 0n) {
        createTransfer(tx, this.#ledger.context, {
          id: scopedKey("cls", sw.id), debitAccountId: sw.accountId, creditAccountId: sw.walletId,
          amount: { minor: rest, currency: sw.currency }, code: "close",
        });
      }
      closeAccount(tx, sw.accountId);
      const closed: SubWallet = { ...sw, status: "closed" };
      tx.put(subWalletKey(sw.id), closed);
      return closed;
    });
  }

  /** Budget windows used / limit / remaining, right now. */
  budget(subWalletId: string): BudgetStatus {
    const sw = this.getSubWallet(subWalletId);
    const usage = this.#engine.read<Usage>(usageKey(sw.id)) ?? emptyUsage();
    return budgetStatus(sw.policy, usage, this.#engine.clock.nowMs(), sw.timeZone);
  }

  #setStatus(subWalletId: string, status: SubWalletStatus, from: SubWalletStatus[], then?: FreezeHook): Promise<SubWallet> {
    return this.#run((tx) => {
      const sw = getSubWalletIn(tx, validateId(subWalletId, "sw", "subWalletId"));
      if (!from.includes(sw.status)) {
        throw new AgentPayError("SUBWALLET_CLOSED", "the sub-wallet is closed", { subWalletId });
      }
      const next = sw.status === status ? sw : { ...sw, status };
      if (next !== sw) tx.put(subWalletKey(sw.id), next);
      // Also when already frozen (a token kept by an earlier freeze is voided by this one).
      then?.(tx, next);
      return next;
    });
  }

  #amount(a: Amount, currency: string): Amount {
    const amt = validateAmount(a, { positive: true, registry: this.#currencies });
    if (amt.currency !== currency) {
      throw new AgentPayError("CURRENCY_MISMATCH", "the amount's currency differs from the wallet's", { currency: amt.currency, walletCurrency: currency });
    }
    return amt;
  }

  #run<R>(fn: (tx: Tx) => R): Promise<R> {
    return this.#engine.submit(fn);
  }
}

function redactNotify(rules: readonly unknown[]): unknown[] {
  return rules.map((r) => {
    const ch = (r as { channel?: { secret?: unknown } }).channel;
    return ch?.secret === undefined ? r : { ...(r as object), channel: { ...ch, secret: "[redacted]" } };
  });
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function reject(message: string): Promise<never> {
  return Promise.reject(new AgentPayError("INVALID_INPUT", message));
}
