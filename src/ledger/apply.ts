import { AgentPayError, MAX_AMOUNT_MINOR, expectObject, invariant, newId, sameBody } from "../core/index.ts";
import type { CurrencyRegistry } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import type {
  Account, CreateAccountInput, PostInput, Transfer, TransferInput, TransferRequest, VoidInput,
} from "./types.ts";
import { checkAccountId, checkAmount, checkCode, checkFlags, checkMetadata, checkTimeout } from "./validate.ts";

/** Storage keys. */
export const accountKey = (id: string): string => `ac/${id}`;
export const transferKey = (id: string): string => `tr/${id}`;
export const ACCOUNT_PREFIX = "ac/";
export const TRANSFER_PREFIX = "tr/";

/** What the ledger's pure functions need besides the Tx. */
export interface LedgerContext {
  readonly currencies: CurrencyRegistry;
  nextSeq(): number;
}

/*
 * Pure functions over a Tx: every module that moves money calls these inside its
 * own engine command, so a payment's hold and its token commit together.
 * Validation happens before any write; a throw leaves the Tx for the engine to discard.
 */

export function getAccount(tx: Tx, id: string): Account {
  const a = tx.get<Account>(accountKey(id));
  if (!a) throw new AgentPayError("ACCOUNT_NOT_FOUND", "no such account", { accountId: id });
  return a;
}

export function createAccount(tx: Tx, ctx: LedgerContext, input: CreateAccountInput): Account {
  expectObject<CreateAccountInput>(input, ["id", "currency", "flags", "code", "metadata"], "account input");
  const id = input.id === undefined ? newId("acc") : checkAccountId(input.id, "id");
  ctx.currencies.exponent(input.currency);
  const flags = checkFlags(input.flags);
  const code = checkCode(input.code);
  const metadata = checkMetadata(input.metadata);
  const existing = tx.get<Account>(accountKey(id));
  if (existing) {
    if (sameBody({ c: existing.currency, f: existing.flags, code: existing.code, m: existing.metadata },
                 { c: input.currency, f: flags, code, m: metadata })) return existing;
    throw new AgentPayError("ACCOUNT_EXISTS", "an account with this id exists with other properties", { accountId: id });
  }
  const account: Account = {
    id, currency: input.currency, flags,
    debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n,
    closed: false, createdAtMs: tx.nowMs,
    ...(code !== undefined ? { code } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  };
  tx.put(accountKey(id), account);
  return account;
}

export function closeAccount(tx: Tx, id: string): Account {
  const a = getAccount(tx, id);
  if (a.closed) return a;
  if (a.debitsPending !== 0n || a.creditsPending !== 0n) {
    throw new AgentPayError("INVALID_INPUT", "an account with pending transfers cannot be closed", { accountId: id });
  }
  const closed = { ...a, closed: true };
  tx.put(accountKey(id), closed);
  return closed;
}

/** The request a stored transfer was created from (not stored twice: derived from its fields). */
export function requestOf(t: Transfer): TransferRequest {
  const common = { kind: t.kind, code: t.code, metadata: t.metadata };
  if (t.kind === "single" || t.kind === "pending") {
    return {
      ...common, debitAccountId: t.debitAccountId, creditAccountId: t.creditAccountId,
      amountMinor: t.amountMinor, currency: t.currency, timeoutMs: t.timeoutMs,
    };
  }
  return {
    ...common, pendingId: t.pendingId,
    amountMinor: t.kind === "post" && !t.amountOmitted ? t.amountMinor : undefined,
    currency: t.kind === "post" && !t.amountOmitted ? t.currency : undefined,
  };
}

/** Returns the earlier result for a repeated id, or undefined for a new one. */
function idempotent(tx: Tx, id: string, request: TransferRequest): Transfer | undefined {
  const existing = tx.get<Transfer>(transferKey(id));
  if (!existing) return undefined;
  if (sameBody(requestOf(existing), request)) return existing;
  throw new AgentPayError("IDEMPOTENCY_CONFLICT", "this transfer id was used with a different request", { transferId: id });
}

function checkLimits(a: Account): void {
  if (a.flags.debitsMustNotExceedCredits && a.debitsPending + a.debitsPosted > a.creditsPosted) {
    throw new AgentPayError("INSUFFICIENT_FUNDS", "insufficient funds", { accountId: a.id });
  }
  if (a.flags.creditsMustNotExceedDebits && a.creditsPending + a.creditsPosted > a.debitsPosted) {
    throw new AgentPayError("LIMIT_EXCEEDED", "the account's credit limit would be exceeded", { accountId: a.id });
  }
  const biggest = [a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted].reduce((x, y) => (x > y ? x : y));
  if (biggest > MAX_AMOUNT_MINOR) throw new AgentPayError("LIMIT_EXCEEDED", "account totals would overflow", { accountId: a.id });
}

const net = (a: Account): bigint => a.creditsPosted - a.debitsPosted;

export function createTransfer(tx: Tx, ctx: LedgerContext, input: TransferInput): Transfer {
  expectObject<TransferInput>(input, ["id", "debitAccountId", "creditAccountId", "amount", "pending", "timeoutMs", "code", "metadata"], "transfer input");
  const id = input.id === undefined ? newId("tr") : checkAccountId(input.id, "id");
  const debitAccountId = checkAccountId(input.debitAccountId, "debitAccountId");
  const creditAccountId = checkAccountId(input.creditAccountId, "creditAccountId");
  const amt = checkAmount(input.amount, ctx.currencies);
  if (input.pending !== undefined && typeof input.pending !== "boolean") {
    throw new AgentPayError("INVALID_INPUT", "pending must be a boolean", { field: "pending" });
  }
  const pending = input.pending === true;
  const timeoutMs = checkTimeout(input.timeoutMs);
  if (timeoutMs !== undefined && !pending) {
    throw new AgentPayError("INVALID_INPUT", "timeoutMs applies to pending transfers only", { field: "timeoutMs" });
  }
  if (debitAccountId === creditAccountId) {
    throw new AgentPayError("INVALID_INPUT", "debit and credit accounts must differ", { accountId: debitAccountId });
  }
  const code = checkCode(input.code);
  const metadata = checkMetadata(input.metadata);
  const request: TransferRequest = {
    kind: pending ? "pending" : "single", debitAccountId, creditAccountId,
    amountMinor: amt.minor, currency: amt.currency, timeoutMs, code, metadata,
  };
  const prior = idempotent(tx, id, request);
  if (prior) return prior;

  const dr = getAccount(tx, debitAccountId);
  const cr = getAccount(tx, creditAccountId);
  for (const a of [dr, cr]) {
    if (a.closed) throw new AgentPayError("ACCOUNT_CLOSED", "the account is closed", { accountId: a.id });
    if (a.currency !== amt.currency) {
      throw new AgentPayError("CURRENCY_MISMATCH", "the amount's currency differs from the account's", {
        accountId: a.id, accountCurrency: a.currency, currency: amt.currency,
      });
    }
  }
  const m = amt.minor;
  const dr2: Account = pending ? { ...dr, debitsPending: dr.debitsPending + m } : { ...dr, debitsPosted: dr.debitsPosted + m };
  const cr2: Account = pending ? { ...cr, creditsPending: cr.creditsPending + m } : { ...cr, creditsPosted: cr.creditsPosted + m };
  checkLimits(dr2);
  checkLimits(cr2);
  const transfer: Transfer = {
    id, kind: request.kind, debitAccountId, creditAccountId, amountMinor: m, currency: amt.currency,
    seq: ctx.nextSeq(), createdAtMs: tx.nowMs,
    ...(pending ? { state: "pending" as const } : {}),
    ...(timeoutMs !== undefined ? { expiresAtMs: tx.nowMs + timeoutMs, timeoutMs } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
    debitBalanceAfter: net(dr2), creditBalanceAfter: net(cr2),
  };
  tx.put(accountKey(dr.id), dr2);
  tx.put(accountKey(cr.id), cr2);
  tx.put(transferKey(id), transfer);
  return transfer;
}

function resolvePending(
  tx: Tx, ctx: LedgerContext, kind: "post" | "void" | "expire",
  input: { id?: string; pendingId: string; amount?: unknown; code?: unknown; metadata?: unknown },
): Transfer {
  if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "input must be an object");
  const id = input.id === undefined ? newId("tr") : checkAccountId(input.id, "id");
  const pendingId = checkAccountId(input.pendingId, "pendingId");
  const amt = input.amount === undefined ? undefined : checkAmount(input.amount, ctx.currencies);
  const code = checkCode(input.code);
  const metadata = checkMetadata(input.metadata);
  const request: TransferRequest = {
    kind, pendingId, amountMinor: amt?.minor, currency: amt?.currency, code, metadata,
  };
  const prior = idempotent(tx, id, request);
  if (prior) return prior;

  const p = tx.get<Transfer>(transferKey(pendingId));
  if (!p) throw new AgentPayError("TRANSFER_NOT_FOUND", "no such pending transfer", { pendingId });
  if (p.kind !== "pending") throw new AgentPayError("TRANSFER_NOT_PENDING", "the transfer is not a pending transfer", { pendingId });
  if (p.state !== "pending") {
    throw new AgentPayError("TRANSFER_ALREADY_RESOLVED", `the pending transfer was already ${p.state}`, { pendingId, state: p.state });
  }
  const expired = p.expiresAtMs !== undefined && tx.nowMs >= p.expiresAtMs;
  if (kind === "expire" && !expired) {
    throw new AgentPayError("TRANSFER_NOT_PENDING", "the pending transfer has not expired yet", { pendingId });
  }
  if (kind !== "expire" && expired) throw new AgentPayError("TRANSFER_EXPIRED", "the pending transfer has expired", { pendingId });
  let postMinor = 0n;
  if (kind === "post") {
    if (amt && amt.currency !== p.currency) {
      throw new AgentPayError("CURRENCY_MISMATCH", "post amount currency differs from the hold", { pendingId });
    }
    postMinor = amt ? amt.minor : p.amountMinor;
    if (postMinor > p.amountMinor) {
      throw new AgentPayError("LIMIT_EXCEEDED", "cannot post more than the pending amount", {
        pendingId, pendingMinor: p.amountMinor, postMinor,
      });
    }
  } else if (amt) {
    throw new AgentPayError("INVALID_INPUT", "void and expire take no amount", { field: "amount" });
  }
  const dr = getAccount(tx, p.debitAccountId);
  const cr = getAccount(tx, p.creditAccountId);
  const dr2: Account = { ...dr, debitsPending: dr.debitsPending - p.amountMinor, debitsPosted: dr.debitsPosted + postMinor };
  const cr2: Account = { ...cr, creditsPending: cr.creditsPending - p.amountMinor, creditsPosted: cr.creditsPosted + postMinor };
  invariant(dr2.debitsPending >= 0n && cr2.creditsPending >= 0n, "pending totals went negative", { pendingId });
  checkLimits(dr2);
  checkLimits(cr2);
  const state = kind === "post" ? "posted" : kind === "void" ? "voided" : "expired";
  const transfer: Transfer = {
    id, kind, debitAccountId: p.debitAccountId, creditAccountId: p.creditAccountId,
    amountMinor: kind === "post" ? postMinor : p.amountMinor, currency: p.currency,
    seq: ctx.nextSeq(), createdAtMs: tx.nowMs, pendingId,
    ...(kind === "post" && !amt ? { amountOmitted: true as const } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
    debitBalanceAfter: net(dr2), creditBalanceAfter: net(cr2),
  };
  tx.put(accountKey(dr.id), dr2);
  tx.put(accountKey(cr.id), cr2);
  tx.put(transferKey(pendingId), { ...p, state, resolvedById: id });
  tx.put(transferKey(id), transfer);
  return transfer;
}

export function postPending(tx: Tx, ctx: LedgerContext, input: PostInput): Transfer {
  return resolvePending(tx, ctx, "post", input);
}

export function voidPending(tx: Tx, ctx: LedgerContext, input: VoidInput): Transfer {
  return resolvePending(tx, ctx, "void", input);
}

export function expirePending(tx: Tx, ctx: LedgerContext, pendingId: string): Transfer {
  return resolvePending(tx, ctx, "expire", { pendingId });
}
