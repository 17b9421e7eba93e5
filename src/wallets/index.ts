export { Wallets } from "./wallets.ts";
export type { CreateWalletInput, CreateSubWalletInput, FreezeHook, FreezeOptions, MoneyOptions, NotifyNormalizer } from "./wallets.ts";
export {
  activeSubWalletIn, budgetStatusIn, evaluateIn, getSubWalletIn, getWalletIn, recordSpendIn, restoreSpendIn, usageIn,
} from "./spend.ts";
export { subWalletKey, walletKey, usageKey } from "./records.ts";
export type { SubWallet, SubWalletStatus, Wallet } from "./records.ts";
export * from "./policy/index.ts";
