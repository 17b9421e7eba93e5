export { Merchants, getMerchantIn, merchantKey, payoutAccountIn } from "./merchants.ts";
export type { Merchant, RegisterMerchantInput, RegisteredMerchant, Settlement } from "./merchants.ts";
