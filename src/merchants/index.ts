export { Merchants, getMerchantIn, merchantKey, payoutAccountIn } from "./merchants.ts";
export type { Merchant, MerchantsOptions, RegisterMerchantInput, RegisteredMerchant, Settlement } from "./merchants.ts";
