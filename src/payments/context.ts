import type { CurrencyRegistry } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import type { Ledger } from "../ledger/index.ts";
import type { RiskDecision, RiskEvent, RiskIntent } from "../risk/index.ts";
import type { TokenIssuer } from "../tokens/index.ts";
import type { Tx } from "../engine/index.ts";
import type { SubWallet } from "../wallets/index.ts";
import type { SignedVoucher } from "../chain/index.ts";
import type { Payment, PaymentChainInfo } from "./records.ts";

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

/** What the payment flow asks the chain bridge for, before the authorizing command. */
export interface VoucherRequest {
  paymentId: string;
  agentId: string;
  subWalletId: string;
  merchantId: string;
  amountMinor: bigint;
  currency: string;
  reference?: string;
  expiresAtMs: number;
}

/** A voucher built and signed outside the engine, recorded by the authorizing command. */
export interface PreparedVoucher extends SignedVoucher {
  readonly subWalletId: string;
  readonly agentId: string;
}

/**
 * The chain bridge as the payment flow sees it (implemented by `agentpay/chain`'s OnchainPayments,
 * plugged in when opened with `{ chain: true }`): `prepare` signs the voucher twin of a payment to a
 * merchant that settles on-chain (undefined for ledger merchants); `recordIn` records it with the
 * hold, inside the command, and returns what the payment record carries.
 */
export interface VoucherHook {
  prepare(input: VoucherRequest): Promise<PreparedVoucher | undefined>;
  recordIn(tx: Tx, p: Payment, sw: SubWallet, prepared: PreparedVoucher | undefined): PaymentChainInfo | undefined;
}

/** What every payment action needs; built once by the facade. */
export interface PaymentsContext {
  readonly engine: Engine;
  readonly ledger: Ledger;
  readonly issuer: TokenIssuer;
  readonly currencies: CurrencyRegistry;
  readonly risk: RiskHook;
  /** Mints the on-chain voucher twin of a payment to a merchant that settles on-chain (the chain bridge). */
  readonly vouchers?: VoucherHook;
  /** Default approval request lifetime. */
  readonly approvalTtlMs?: number;
}
