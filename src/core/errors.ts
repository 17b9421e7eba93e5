/**
 * Every failure agentpay reports is an AgentPayError with a stable `code`.
 * Codes are part of the public API: never rename one, only add.
 */
export const ErrorCodes = [
  // input
  "INVALID_INPUT",
  "INVALID_AMOUNT",
  "UNKNOWN_CURRENCY",
  "CURRENCY_MISMATCH",
  "INVALID_ID",
  // ledger
  "ACCOUNT_NOT_FOUND",
  "ACCOUNT_EXISTS",
  "TRANSFER_NOT_FOUND",
  "INSUFFICIENT_FUNDS",
  "LIMIT_EXCEEDED",
  "IDEMPOTENCY_CONFLICT",
  "TRANSFER_ALREADY_RESOLVED",
  "TRANSFER_EXPIRED",
  "TRANSFER_NOT_PENDING",
  "LINKED_TRANSFER_FAILED",
  "ACCOUNT_CLOSED",
  // engine
  "ENGINE_CLOSED",
  "ENGINE_OVERLOADED",
  "STORE_FAILURE",
  /** This node is a standby (or just lost the lease): writes go to the leader. Nothing was applied. */
  "NOT_LEADER",
  /** The store cannot be reached right now; the node reconnects by itself. A write that got this may or may not have been applied: retry it with the same idempotency key. */
  "STORE_UNAVAILABLE",
  // internal
  "INVARIANT_VIOLATION",
] as const;

export type ErrorCode = (typeof ErrorCodes)[number] | (string & {});

export type ErrorDetails = Readonly<Record<string, unknown>>;

export class AgentPayError extends Error {
  override readonly name = "AgentPayError";
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: string; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: jsonSafe(this.details) as ErrorDetails };
  }
}

export function isAgentPayError(e: unknown, code?: ErrorCode): e is AgentPayError {
  return e instanceof AgentPayError && (code === undefined || e.code === code);
}

/** Details may hold bigints; the wire wants decimal strings. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
    return out;
  }
  return v;
}

/** Asserts an invariant the code relies on; a failure is a bug, never bad input. */
export function invariant(condition: unknown, message: string, details?: ErrorDetails): asserts condition {
  if (!condition) throw new AgentPayError("INVARIANT_VIOLATION", message, details);
}
