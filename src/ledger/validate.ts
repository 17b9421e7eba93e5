import { AgentPayError, validateAmount, validateKey } from "../core/index.ts";
import type { Amount, CurrencyRegistry } from "../core/index.ts";
import type { AccountFlags } from "./types.ts";

const MAX_TIMEOUT_MS = 366 * 86_400_000;

export function checkCode(code: unknown): string | undefined {
  if (code === undefined) return undefined;
  if (typeof code !== "string" || code.length === 0 || code.length > 64) {
    throw new AgentPayError("INVALID_INPUT", "code must be a string of 1-64 characters", { field: "code" });
  }
  return code;
}

export function checkMetadata(m: unknown): Record<string, string> | undefined {
  if (m === undefined) return undefined;
  if (m === null || typeof m !== "object" || Array.isArray(m)) {
    throw new AgentPayError("INVALID_INPUT", "metadata must be an object of strings", { field: "metadata" });
  }
  const entries = Object.entries(m);
  if (entries.length > 16) throw new AgentPayError("INVALID_INPUT", "metadata has more than 16 keys", { field: "metadata" });
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 64 || typeof v !== "string" || v.length > 512) {
      throw new AgentPayError("INVALID_INPUT", "metadata keys are 1-64 chars, values strings of at most 512", { field: "metadata" });
    }
    out[k] = v;
  }
  return out;
}

export function checkFlags(f: unknown): AccountFlags {
  if (f === undefined) return {};
  if (f === null || typeof f !== "object") throw new AgentPayError("INVALID_INPUT", "flags must be an object", { field: "flags" });
  const { debitsMustNotExceedCredits, creditsMustNotExceedDebits, ...rest } = f as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new AgentPayError("INVALID_INPUT", "unknown account flag", { flags: Object.keys(rest) });
  for (const v of [debitsMustNotExceedCredits, creditsMustNotExceedDebits]) {
    if (v !== undefined && typeof v !== "boolean") throw new AgentPayError("INVALID_INPUT", "flags are booleans", { field: "flags" });
  }
  if (debitsMustNotExceedCredits && creditsMustNotExceedDebits) {
    throw new AgentPayError("INVALID_INPUT", "an account cannot limit both debits and credits", { field: "flags" });
  }
  return {
    ...(debitsMustNotExceedCredits ? { debitsMustNotExceedCredits: true } : {}),
    ...(creditsMustNotExceedDebits ? { creditsMustNotExceedDebits: true } : {}),
  };
}

export function checkTimeout(t: unknown): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t <= 0 || t > MAX_TIMEOUT_MS) {
    throw new AgentPayError("INVALID_INPUT", "timeoutMs must be a positive integer of at most a year", { field: "timeoutMs" });
  }
  return t;
}

export function checkAccountId(id: unknown, field: string): string {
  return validateKey(id, field);
}

export function checkAmount(a: unknown, registry: CurrencyRegistry, field = "amount"): Amount {
  return validateAmount(a, { positive: true, field, registry });
}
