import { AgentPayError, defaultCurrencies, isAgentPayError, validateKey } from "../core/index.ts";
import type { CurrencyRegistry } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import {
  ACCOUNT_PREFIX, TRANSFER_PREFIX, accountKey, closeAccount, createAccount, createTransfer, expirePending,
  postPending, transferKey, voidPending,
} from "./apply.ts";
import type { LedgerContext } from "./apply.ts";
import { checkLedger } from "./check.ts";
import type { InvariantReport } from "./check.ts";
import { MinHeap, every, expectObject } from "../core/index.ts";
import type {
  Account, Balance, CreateAccountInput, PostInput, StatementEntry, StatementPage, Transfer, TransferInput, VoidInput,
} from "./types.ts";

export type LinkedOp =
  | ({ op: "transfer" } & TransferInput)
  | ({ op: "post" } & PostInput)
  | ({ op: "void" } & VoidInput);

export interface LedgerOptions {
  currencies?: CurrencyRegistry;
}

const MAX_LINKED = 64;
const MAX_PAGE = 1_000;
const MAX_EXPIRE_PER_COMMAND = 1_000;

interface AccountIndex {
  ids: string[];
  seqs: number[];
  sorted: boolean;
}

/**
 * The double-entry ledger (TigerBeetle's model) on top of the serial engine.
 * Construct it before `engine.load()` so its indexes see every stored record.
 */
export class Ledger {
  readonly #engine: Engine;
  readonly context: LedgerContext;
  #seq = 0;
  readonly #byAccount = new Map<string, AccountIndex>();
  readonly #expiries = new MinHeap<string>();
  #stopSweeper: (() => void) | undefined;

  constructor(engine: Engine, opts: LedgerOptions = {}) {
    this.#engine = engine;
    const currencies = opts.currencies ?? defaultCurrencies;
    this.context = { currencies, nextSeq: () => ++this.#seq };
    engine.observe(TRANSFER_PREFIX, (_key, before, after) => this.#index(before as Transfer | undefined, after as Transfer | undefined));
  }

  #index(before: Transfer | undefined, t: Transfer | undefined): void {
    if (!t) return;
    if (t.seq > this.#seq) this.#seq = t.seq;
    if (t.kind === "pending" && t.state === "pending" && t.expiresAtMs !== undefined && before === undefined) {
      this.#expiries.push(t.expiresAtMs, t.id);
    }
    if (before !== undefined) return; // a pending transfer's resolution is not a new entry
    for (const accountId of [t.debitAccountId, t.creditAccountId]) {
      let ix = this.#byAccount.get(accountId);
      if (!ix) this.#byAccount.set(accountId, (ix = { ids: [], seqs: [], sorted: true }));
      const last = ix.seqs[ix.seqs.length - 1];
      if (last !== undefined && last > t.seq) ix.sorted = false; // records load in key order, not seq order
      ix.ids.push(t.id);
      ix.seqs.push(t.seq);
    }
  }

  /** Runs a ledger command through the engine. */
  #run<R>(fn: (tx: Tx) => R): Promise<R> {
    return this.#engine.submit(fn);
  }

  createAccount(input: CreateAccountInput): Promise<Account> {
    return this.#run((tx) => createAccount(tx, this.context, input));
  }

  /** Creates many accounts in one command (all or none). */
  createAccounts(inputs: readonly CreateAccountInput[]): Promise<Account[]> {
    if (!Array.isArray(inputs) || inputs.length > 10_000) {
      return Promise.reject(new AgentPayError("INVALID_INPUT", "createAccounts takes an array of at most 10,000"));
    }
    return this.#run((tx) => inputs.map((i) => createAccount(tx, this.context, i)));
  }

  closeAccount(id: string): Promise<Account> {
    return this.#run((tx) => closeAccount(tx, validateKey(id, "accountId")));
  }

  getAccount(id: string): Account {
    const a = this.#engine.read<Account>(accountKey(validateKey(id, "accountId")));
    if (!a) throw new AgentPayError("ACCOUNT_NOT_FOUND", "no such account", { accountId: id });
    return a;
  }

  balance(id: string): Balance {
    const a = this.getAccount(id);
    const posted = a.creditsPosted - a.debitsPosted;
    return {
      currency: a.currency,
      postedMinor: posted,
      pendingDebitsMinor: a.debitsPending,
      pendingCreditsMinor: a.creditsPending,
      availableMinor: posted - a.debitsPending,
    };
  }

  /** A single transfer, posted at once or (with `pending`) a hold. */
  transfer(input: TransferInput): Promise<Transfer> {
    return this.#run((tx) => createTransfer(tx, this.context, input));
  }

  /** Posts a hold in full or in part; the rest is released. */
  post(input: PostInput): Promise<Transfer> {
    return this.#run((tx) => postPending(tx, this.context, input));
  }

  /** Releases a hold. */
  void(input: VoidInput): Promise<Transfer> {
    return this.#run((tx) => voidPending(tx, this.context, input));
  }

  /** Linked operations: all commit together, or none does. */
  transferLinked(ops: readonly LinkedOp[]): Promise<Transfer[]> {
    if (!Array.isArray(ops) || ops.length === 0 || ops.length > MAX_LINKED) {
      return Promise.reject(new AgentPayError("INVALID_INPUT", `linked transfers take 1-${MAX_LINKED} operations`));
    }
    return this.#run((tx) => ops.map((op, index) => {
      try {
        return applyLinked(tx, this.context, op);
      } catch (e) {
        throw new AgentPayError("LINKED_TRANSFER_FAILED", "a linked transfer failed; none was applied", {
          index, causeCode: isAgentPayError(e) ? e.code : "UNKNOWN", causeMessage: isAgentPayError(e) ? e.message : "",
        }, { cause: e });
      }
    }));
  }

  getTransfer(id: string): Transfer | undefined {
    return this.#engine.read<Transfer>(transferKey(validateKey(id, "transferId")));
  }

  /** Expires due holds (releasing their funds); returns how many. Bounded per call. */
  async expireDue(limit = MAX_EXPIRE_PER_COMMAND): Promise<number> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new AgentPayError("INVALID_INPUT", "limit must be a positive integer", { field: "limit" });
    const max = Math.min(limit, MAX_EXPIRE_PER_COMMAND);
    return this.#run((tx) => expireDueIn(tx, this.context, this.#expiries, max));
  }

  /** Starts a background sweeper that expires due holds every `intervalMs`. */
  startSweeper(intervalMs = 1_000): () => void {
    this.stopSweeper();
    this.#stopSweeper = every(intervalMs, () => this.expireDue());
    return () => this.stopSweeper();
  }

  stopSweeper(): void {
    this.#stopSweeper?.();
    this.#stopSweeper = undefined;
  }

  /** A page of an account's entries in commit order. */
  statement(accountId: string, opts: { cursor?: string; limit?: number } = {}): StatementPage {
    expectObject<{ cursor?: string; limit?: number }>(opts, ["cursor", "limit"], "statement options");
    const account = this.getAccount(accountId);
    const limit = opts.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new AgentPayError("INVALID_INPUT", `limit must be 1-${MAX_PAGE}`, { field: "limit" });
    }
    let afterSeq = 0;
    if (opts.cursor !== undefined) {
      if (typeof opts.cursor !== "string" || !/^\d{1,15}$/.test(opts.cursor)) {
        throw new AgentPayError("INVALID_INPUT", "cursor is malformed", { field: "cursor" });
      }
      afterSeq = Number(opts.cursor);
    }
    const ix = this.#byAccount.get(account.id);
    if (!ix) return { accountId: account.id, entries: [] };
    if (!ix.sorted) sortIndex(ix);
    let lo = 0;
    let hi = ix.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ix.seqs[mid]! <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    const entries: StatementEntry[] = [];
    for (let i = lo; i < ix.ids.length && entries.length < limit; i++) {
      const t = this.#engine.read<Transfer>(transferKey(ix.ids[i]!))!;
      const debit = t.debitAccountId === account.id;
      entries.push({
        transferId: t.id, kind: t.kind, seq: t.seq, atMs: t.createdAtMs,
        direction: debit ? "debit" : "credit", amountMinor: t.amountMinor, currency: t.currency,
        counterpartyAccountId: debit ? t.creditAccountId : t.debitAccountId,
        balanceAfterMinor: debit ? t.debitBalanceAfter : t.creditBalanceAfter,
        ...(t.code !== undefined ? { code: t.code } : {}),
        ...(t.metadata !== undefined ? { metadata: t.metadata } : {}),
      });
    }
    const more = lo + entries.length < ix.ids.length;
    const last = entries[entries.length - 1];
    return { accountId: account.id, entries, ...(more && last ? { nextCursor: String(last.seq) } : {}) };
  }

  /** Recomputes every invariant from the stored records. O(accounts + transfers). */
  check(): InvariantReport {
    const accounts = [...this.#engine.scan<Account>(ACCOUNT_PREFIX)].map(([, a]) => a);
    const transfers = [...this.#engine.scan<Transfer>(TRANSFER_PREFIX)].map(([, t]) => t);
    return checkLedger(accounts, transfers);
  }
}

function sortIndex(ix: AccountIndex): void {
  const order = ix.ids.map((id, i) => ({ id, seq: ix.seqs[i]! })).sort((a, b) => a.seq - b.seq);
  ix.ids = order.map((o) => o.id);
  ix.seqs = order.map((o) => o.seq);
  ix.sorted = true;
}

function applyLinked(tx: Tx, ctx: LedgerContext, op: LinkedOp): Transfer {
  if (op === null || typeof op !== "object") throw new AgentPayError("INVALID_INPUT", "each linked operation must be an object");
  const { op: kind, ...input } = op;
  switch (kind) {
    case "transfer": return createTransfer(tx, ctx, input as TransferInput);
    case "post": return postPending(tx, ctx, input as PostInput);
    case "void": return voidPending(tx, ctx, input as VoidInput);
    default: throw new AgentPayError("INVALID_INPUT", "op must be transfer, post or void", { op: String((op as { op: unknown }).op) });
  }
}

/** Expires up to `max` due holds inside one command; stale heap entries are dropped. */
export function expireDueIn(tx: Tx, ctx: LedgerContext, heap: MinHeap<string>, max: number): number {
  let n = 0;
  const taken: Array<{ key: number; value: string }> = [];
  try {
    while (n < max) {
      const top = heap.peek();
      if (!top || top.key > tx.nowMs) break;
      taken.push(heap.pop()!);
      const t = tx.get<Transfer>(transferKey(top.value));
      if (!t || t.state !== "pending") continue;
      expirePending(tx, ctx, t.id);
      n++;
    }
  } catch (e) {
    for (const x of taken) heap.push(x.key, x.value); // the command is discarded: so is our progress
    throw e;
  }
  return n;
}
