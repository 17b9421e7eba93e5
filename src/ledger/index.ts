export { Ledger } from "./ledger.ts";
export type { LedgerOptions, LinkedOp } from "./ledger.ts";
export {
  createAccount, createTransfer, postPending, voidPending, getAccount, closeAccount, accountKey, transferKey,
} from "./apply.ts";
export type { LedgerContext } from "./apply.ts";
export { checkLedger } from "./check.ts";
export type { InvariantReport } from "./check.ts";
export type {
  Account, AccountFlags, Balance, CreateAccountInput, PostInput, StatementEntry, StatementPage, Transfer,
  TransferInput, TransferKind, PendingState, VoidInput,
} from "./types.ts";
