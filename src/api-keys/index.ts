// src/api-keys: hashed, revocable, rotatable API keys for operators, persons and merchants.
export { ApiKeys } from "./api-keys.ts";
export type { ApiKey, ApiKeyKind, CreateApiKeyInput, CreatedApiKey, KeyPrincipal } from "./api-keys.ts";
