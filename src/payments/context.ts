import type { CurrencyRegistry } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import type { Ledger } from "../ledger/index.ts";
import type { RiskDecision, RiskEvent, RiskIntent } from "../risk/index.ts";
import type { TokenIssuer } from "../tokens/index.ts";
import type { VoucherPreparer } from "./onchain.ts";

/**
 * The risk engine as the payment flow sees it: `score` runs inside the payment's
 * engine command against the live features; `record` updates them with what committed.
 */
export interface RiskHook {
  score(intent: RiskIntent): RiskDecision;
  /** Live, and on open for every change already committed (in `seq` order, the order they were made). */
  record(event: RiskEvent): void;
  /** Given the state engine before it loads (the built-in engine keeps its operator resets there). */
  attach?(engine: Engine): void;
  /** The replay of committed changes on open is over. */
  finishLoad?(): void;
}

/** The default when no risk engine is plugged in: allows everything, records nothing. */
export const allowAllRisk: RiskHook = {
  score: () => ({ outcome: "allow", score: 0, reasons: [], ruleSetVersion: "none" }),
  record: () => {},
};

/** What every payment action needs; built once by the facade. */
export interface PaymentsContext {
  readonly engine: Engine;
  readonly ledger: Ledger;
  readonly issuer: TokenIssuer;
  readonly currencies: CurrencyRegistry;
  readonly risk: RiskHook;
  /** Mints the on-chain voucher twin of a payment to a merchant that settles on-chain (the chain bridge). */
  readonly vouchers?: VoucherPreparer;
  /** Default approval request lifetime. */
  readonly approvalTtlMs?: number;
}
