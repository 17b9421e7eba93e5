// How the CLI talks to people and scripts: aligned tables (colour when the terminal has it) or --json,
// a spinner on stderr for anything slow, and errors as "code: message" plus what to do next.
import pc from "picocolors";
import { createSpinner } from "nanospinner";
import { isAgentPayError, toWire } from "../index.ts";
import type { AgentPayError, CurrencyRegistry } from "../index.ts";

export interface Out {
  json: boolean;
  registry?: CurrencyRegistry;
}

/** Prints a result: JSON (the wire form) with --json, else `human()`'s text. */
export function print(out: Out, value: unknown, human: () => string): void {
  process.stdout.write(out.json ? `${JSON.stringify(toWire(value, out.registry))}\n` : `${human()}\n`);
}

const width = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;

/** An aligned table; the header dimmed. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return pc.dim("(none)");
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? "")));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => width(row[i]!))));
  const line = (vals: string[]) => vals.map((v, i) => v + " ".repeat(widths[i]! - width(v))).join("  ").trimEnd();
  return [pc.dim(line(columns)), ...cells.map(line)].join("\n");
}

/** `key: value` lines, aligned. */
export function fields(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  const w = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${pc.dim(k.padEnd(w))}  ${typeof obj[k] === "object" ? JSON.stringify(obj[k]) : String(obj[k])}`).join("\n");
}

/** A money value as people read it: "120.50 USD". */
export function money(v: unknown): string {
  const m = v as { value?: string; minor?: string; currency?: string } | undefined;
  if (!m || typeof m !== "object") return "";
  return m.value !== undefined ? `${m.value} ${m.currency}` : `${m.minor} ${m.currency} (minor units)`;
}

export function status(s: string): string {
  const good = ["active", "authorized", "captured", "approved", "granted", "ok"];
  const bad = ["declined", "denied", "frozen", "revoked", "disabled", "expired", "voided", "closed"];
  return good.includes(s) ? pc.green(s) : bad.includes(s) ? pc.red(s) : pc.yellow(s);
}

/** Runs `fn` with a spinner on stderr when it takes long (and stderr is a terminal; never with --json). */
export async function spin<T>(out: Out, text: string, fn: () => Promise<T>): Promise<T> {
  if (out.json || !process.stderr.isTTY) return fn();
  const s = createSpinner(text, { stream: process.stderr });
  const timer = setTimeout(() => s.start(), 1_000);
  try {
    const r = await fn();
    clearTimeout(timer);
    if (s.isSpinning()) s.success();
    return r;
  } catch (e) {
    clearTimeout(timer);
    if (s.isSpinning()) s.error();
    throw e;
  }
}

/** What to do next, by code: the person reading the error should know their next step. */
const NEXT: Partial<Record<string, string>> = {
  UNAUTHENTICATED: "check the key: --key, AGENTPAY_KEY, or run `agentpay init` (it writes one to the config file)",
  FORBIDDEN: "this needs another kind of key (the operator's, the person's or the merchant's)",
  NOT_FOUND: "check the id (and that it belongs to this key's person or merchant)",
  CONNECTION_FAILED: "is the server running? start it with `agentpay serve`, or point --url / AGENTPAY_URL at it",
  PAYMENT_DECLINED: "see the reasons; change the policy (`agentpay subwallet policy`) or pay less",
  INSUFFICIENT_FUNDS: "deposit first (`agentpay wallet deposit`) or fund the sub-wallet (`agentpay subwallet fund`)",
  IDEMPOTENCY_CONFLICT: "this idempotency key was used for another request: use a new one",
  SUBWALLET_FROZEN: "unfreeze it: `agentpay subwallet unfreeze <id>`",
  GRANT_NOT_FOUND: "grant the agent the sub-wallet: `agentpay grant create`",
  APPROVAL_ALREADY_RESOLVED: "someone already decided it: `agentpay approvals list` shows what is pending",
  RATE_LIMITED: "wait a moment and retry",
  INVALID_AMOUNT: "give the amount as a decimal string with at most the currency's decimals, e.g. 12.50",
  CHAIN_NOT_ENABLED: "start the server with `agentpay serve --chain`",
};

export function formatError(e: AgentPayError): string {
  const reasons = (e.details as { reasons?: Array<{ code: string; message: string }> }).reasons;
  const lines = [`${pc.red("error")} ${pc.bold(e.code)}: ${e.message}`];
  if (reasons) for (const r of reasons) lines.push(`  - ${r.code}: ${r.message}`);
  const field = (e.details as { field?: unknown }).field;
  if (field !== undefined) lines.push(`  field: ${String(field)}`);
  const next = NEXT[e.code];
  if (next) lines.push(`  next: ${next}`);
  return lines.join("\n");
}

export { isAgentPayError };
