import { AgentPayError } from "./errors.ts";

/**
 * Checks that a public input is a plain object with only known keys: a typo or a stray field
 * is refused rather than silently ignored. Returns it typed.
 */
export function expectObject<T extends object>(value: unknown, allowed: readonly (keyof T & string)[], what: string): T {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new AgentPayError("INVALID_INPUT", `${what} must be an object`);
  }
  for (const k of Object.keys(value)) {
    if (!(allowed as readonly string[]).includes(k)) throw new AgentPayError("INVALID_INPUT", `${what} has an unknown field`, { field: k.slice(0, 64) });
  }
  return value as T;
}
