import { AgentPayError, newId, validateId } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";

export type ApprovalStatus = "pending" | "approved" | "denied" | "expired";

/** What a person is asked to decide: who wants to pay whom, how much, and why they are asked. */
export interface ApprovalRequest {
  readonly id: string;
  readonly ownerId: string;
  readonly subWalletId: string;
  readonly agentId: string;
  /** The payment (or other action) waiting on this decision. */
  readonly subject: { readonly kind: string; readonly id: string };
  /** A human summary: merchant, amount, reference. */
  readonly summary: Readonly<Record<string, unknown>>;
  readonly reasons: readonly { readonly code: string; readonly message: string }[];
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly status: ApprovalStatus;
  readonly resolvedAtMs?: number;
  readonly resolvedBy?: string;
  readonly note?: string;
}

export interface CreateApprovalInput {
  ownerId: string;
  subWalletId: string;
  agentId: string;
  subject: { kind: string; id: string };
  summary: Record<string, unknown>;
  reasons: { code: string; message: string }[];
  /** Default 15 minutes. */
  ttlMs?: number;
}

/**
 * What happens when a request resolves, run INSIDE the same engine command: the payment
 * flow registers one per subject kind, so "approved" and "the payment goes ahead" (hold,
 * token, events) commit together. If it throws, the approval stays pending and the error
 * reaches the person (e.g. the balance no longer covers it).
 */
export type ResolutionHandler<R = unknown> = (tx: Tx, approval: ApprovalRequest, prepared: unknown) => R;

/**
 * Optional work done BEFORE the resolving command, outside the serial engine (e.g.
 * signing the payment token): its result is handed to the handler. Never commits anything.
 */
export type PrepareHandler = (approval: ApprovalRequest) => unknown | Promise<unknown>;

export const approvalKey = (id: string): string => `ap/${id}`;
const APPROVAL_PREFIX = "ap/";
export const DEFAULT_APPROVAL_TTL_MS = 15 * 60_000;
const MAX_TTL_MS = 7 * 86_400_000;
const MAX_NOTE = 500;

/** Creates a pending request inside the caller's command. */
export function createApprovalIn(tx: Tx, input: CreateApprovalInput): ApprovalRequest {
  const ttlMs = input.ttlMs ?? DEFAULT_APPROVAL_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
    throw new AgentPayError("INVALID_INPUT", "approval ttlMs must be a positive integer of at most 7 days", { field: "ttlMs" });
  }
  const approval: ApprovalRequest = {
    id: newId("apr"), ownerId: input.ownerId, subWalletId: input.subWalletId, agentId: input.agentId,
    subject: input.subject, summary: input.summary, reasons: input.reasons,
    createdAtMs: tx.nowMs, expiresAtMs: tx.nowMs + ttlMs, status: "pending",
  };
  tx.put(approvalKey(approval.id), approval);
  return approval;
}

/** The status as of `nowMs`: a pending request past its expiry counts as expired (a denial). */
export function effectiveStatus(a: ApprovalRequest, nowMs: number): ApprovalStatus {
  return a.status === "pending" && nowMs >= a.expiresAtMs ? "expired" : a.status;
}

export interface ResolveOptions {
  /** Who decided (for the audit trail). */
  by?: string;
  note?: string;
}

export interface Resolution<R = unknown> {
  readonly approval: ApprovalRequest;
  /** What the subject's handler returned (e.g. the approved payment and its token). */
  readonly result?: R;
}

/** The person's inbox of approval requests. Each resolves at most once. */
export class Approvals {
  readonly #engine: Engine;
  readonly #onApproved = new Map<string, ResolutionHandler>();
  readonly #onDenied = new Map<string, ResolutionHandler>();
  readonly #prepare = new Map<string, PrepareHandler>();
  readonly #pending = new Set<string>();

  constructor(engine: Engine) {
    this.#engine = engine;
    engine.observe(APPROVAL_PREFIX, (_k, _b, after) => {
      const a = after as ApprovalRequest | undefined;
      if (!a) return;
      if (a.status === "pending") this.#pending.add(a.id);
      else this.#pending.delete(a.id);
    });
  }

  /** Registers what approving / denying (or expiry) of a subject kind does. */
  onResolve(kind: string, handlers: { approved: ResolutionHandler; denied?: ResolutionHandler; prepare?: PrepareHandler }): void {
    this.#onApproved.set(kind, handlers.approved);
    if (handlers.prepare) this.#prepare.set(kind, handlers.prepare);
    if (handlers.denied) this.#onDenied.set(kind, handlers.denied);
  }

  get(id: string): ApprovalRequest {
    const a = this.#engine.read<ApprovalRequest>(approvalKey(validateId(id, "apr", "approvalId")));
    if (!a) throw new AgentPayError("APPROVAL_NOT_FOUND", "no such approval request", { approvalId: id });
    return { ...a, status: effectiveStatus(a, this.#engine.clock.nowMs()) };
  }

  /** Pending requests (optionally of one owner), oldest first. */
  listPending(opts: { ownerId?: string } = {}): ApprovalRequest[] {
    const now = this.#engine.clock.nowMs();
    return [...this.#pending]
      .map((id) => this.#engine.read<ApprovalRequest>(approvalKey(id))!)
      .filter((a) => effectiveStatus(a, now) === "pending" && (opts.ownerId === undefined || a.ownerId === opts.ownerId))
      .sort((a, b) => a.createdAtMs - b.createdAtMs);
  }

  approve<R = unknown>(id: string, opts: ResolveOptions = {}): Promise<Resolution<R>> {
    return this.#resolve(id, "approved", opts) as Promise<Resolution<R>>;
  }

  deny(id: string, opts: ResolveOptions = {}): Promise<Resolution> {
    return this.#resolve(id, "denied", opts);
  }

  /** Marks every pending request past its expiry as expired (a denial); bounded per call. */
  expireDue(limit = 1_000): Promise<number> {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      return Promise.reject(new AgentPayError("INVALID_INPUT", "limit must be a positive integer", { field: "limit" }));
    }
    return this.#engine.submit((tx) => {
      let n = 0;
      for (const id of this.#pending) {
        if (n >= limit) break;
        const a = tx.get<ApprovalRequest>(approvalKey(id));
        if (!a || a.status !== "pending" || tx.nowMs < a.expiresAtMs) continue;
        const expired: ApprovalRequest = { ...a, status: "expired", resolvedAtMs: tx.nowMs };
        tx.put(approvalKey(id), expired);
        this.#onDenied.get(a.subject.kind)?.(tx, expired, undefined);
        n++;
      }
      return n;
    });
  }

  async #resolve(id: string, status: "approved" | "denied", opts: ResolveOptions): Promise<Resolution> {
    let note: string | undefined;
    let by: string | undefined;
    try {
      if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
      validateId(id, "apr", "approvalId");
      if (opts.note !== undefined && (typeof opts.note !== "string" || opts.note.length > MAX_NOTE)) {
        throw new AgentPayError("INVALID_INPUT", `note must be a string of at most ${MAX_NOTE} characters`, { field: "note" });
      }
      if (opts.by !== undefined && (typeof opts.by !== "string" || opts.by.length === 0 || opts.by.length > 128)) {
        throw new AgentPayError("INVALID_INPUT", "by must be a string of 1-128 characters", { field: "by" });
      }
      note = opts.note;
      by = opts.by;
    } catch (e) {
      return Promise.reject(e);
    }
    let prepared: unknown;
    let wasPrepared = false;
    const stored = this.#engine.read<ApprovalRequest>(approvalKey(id));
    const prepare = stored && status === "approved" ? this.#prepare.get(stored.subject.kind) : undefined;
    // Prepared whenever the stored request is pending, whatever the clock says now: the command
    // decides expiry at its own time, and the clock may step back in between (NTP).
    if (stored && prepare && stored.status === "pending") {
      prepared = await prepare(stored);
      wasPrepared = true;
    }
    return this.#engine.submit((tx) => {
      const a = tx.get<ApprovalRequest>(approvalKey(id));
      if (!a) throw new AgentPayError("APPROVAL_NOT_FOUND", "no such approval request", { approvalId: id });
      const current = effectiveStatus(a, tx.nowMs);
      if (current === "expired") throw new AgentPayError("APPROVAL_EXPIRED", "the approval request has expired", { approvalId: id });
      if (current !== "pending") {
        throw new AgentPayError("APPROVAL_ALREADY_RESOLVED", `the approval request was already ${current}`, { approvalId: id, status: current });
      }
      const resolved: ApprovalRequest = {
        ...a, status, resolvedAtMs: tx.nowMs,
        ...(by !== undefined ? { resolvedBy: by } : {}),
        ...(note !== undefined ? { note } : {}),
      };
      if (prepare && !wasPrepared) {
        // Only if the request was created after the read above: have the caller try again.
        throw new AgentPayError("APPROVAL_NOT_READY", "the approval request changed while it was being approved; try again", { approvalId: id });
      }
      tx.put(approvalKey(id), resolved);
      const handler = (status === "approved" ? this.#onApproved : this.#onDenied).get(a.subject.kind);
      const result = handler ? handler(tx, resolved, prepared) : undefined;
      return { approval: resolved, ...(result !== undefined ? { result } : {}) };
    });
  }
}
