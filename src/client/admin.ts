// The person's (or the operator's) side over HTTP, with an API key: wallets, deposits, sub-wallets and
// their policies, freeze, agents, grants, merchants, approvals, payments, statements, API keys. Grouped
// and named as the library's own `pay.wallets`, `pay.agents`, … so code moves between the two; amounts
// are Amounts and results the library's records. Every write carries an Idempotency-Key (one per call
// unless you pass yours), so a retry after a lost answer does nothing twice.
import { AgentPayError, newId, validateId, validateKey } from "../core/index.ts";
import type { ReconcileReport } from "../index.ts";
import type { Amount } from "../core/index.ts";
import type { CreateGrantInput, KeyResult, RegisterAgentInput, RotateKeyInput } from "../agents/index.ts";
import type { ApiKeyKind } from "../api-keys/index.ts";
import type { RegisterMerchantInput } from "../merchants/index.ts";
import type {
  Agent, ApiKey, ApprovalRequest, ApprovedPayment, Balance, BudgetStatus, Grant, InvariantReport, Merchant, Payment, PolicyInput, StatementPage,
  SubWallet, Transfer, Wallet,
} from "../index.ts";
import { Transport } from "./transport.ts";
import type { Api, AttemptInit, ClientOptions } from "./transport.ts";
import { fromWire, pageFromWire, pageQuery } from "./wire.ts";
import type { Page, PageQuery } from "./wire.ts";

export interface AdminClientOptions extends ClientOptions {
  /** A person's API key (acts on that owner's wallets) or an operator key. */
  apiKey: string;
}

/** An API key as its holder sees it (never its hash). */
export type ShownApiKey = Omit<ApiKey, "hash">;
/** A new key and its secret, shown this once. */
export interface CreatedKey { readonly apiKey: ShownApiKey; readonly secret: string }
/** A registered merchant: its callback secret and first API key, each shown this once. */
export interface MerchantRegistration { readonly merchant: Merchant; readonly callbackSecret: string; readonly apiKey: CreatedKey }
/** An approval's outcome: approving lets exactly the waiting payment go ahead (its token goes to the agent only). */
export interface ApprovalOutcome { readonly approval: ApprovalRequest; readonly result?: Omit<ApprovedPayment, "token" | "voucher"> }

type Answer = Awaited<ReturnType<Api["GET"]>>;
type Op = (api: Api, init: AttemptInit) => Promise<Answer>;

function idem(k: string | undefined): string {
  return k === undefined ? newId("idem") : validateKey(k, "idempotencyKey");
}

function object(input: unknown, field = "input"): void {
  if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", `${field} must be an object`, { field });
}

export class AdminClient {
  readonly #http: Transport;

  constructor(opts: AdminClientOptions) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "client options must be an object");
    if (typeof opts.apiKey !== "string" || !/^[A-Za-z0-9_-]{8,200}$/.test(opts.apiKey)) throw new AgentPayError("INVALID_INPUT", "apiKey must be an API key", { field: "apiKey" });
    this.#http = new Transport(opts, { headers: { authorization: `Bearer ${opts.apiKey}` } });
  }

  async #read<T>(op: Op, opts: { timeoutMs?: number } = {}): Promise<T> {
    return fromWire<T>(await this.#http.call(op, { idempotent: true, ...opts }), this.#http.decimals);
  }

  async #list<T>(op: Op): Promise<Page<T>> {
    return pageFromWire<T>(await this.#http.call(op, { idempotent: true }) as never, this.#http.decimals);
  }

  /** A write: `key` becomes its Idempotency-Key, the same for every attempt. */
  async #write<T>(key: string | undefined, op: (api: Api, init: AttemptInit & { headers: { "idempotency-key": string } }, key: string) => Promise<Answer>): Promise<T> {
    const k = idem(key);
    const headers = { "idempotency-key": k };
    return fromWire<T>(await this.#http.call((api, init) => op(api, { ...init, headers }, k), { idempotent: true }), this.#http.decimals);
  }

  #money(a: Amount) {
    return this.#http.decimals.toWire(a);
  }

  readonly wallets = {
    /** A person's key creates its own owner's wallets; the operator names `ownerId`. */
    create: async (input: { ownerId?: string; currency: string; timeZone: string; idempotencyKey?: string }): Promise<Wallet> => {
      object(input);
      const { idempotencyKey, ...body } = input;
      return this.#write(idempotencyKey, (api, init) => api.POST("/v1/wallets", { ...init, body }));
    },
    list: async (query: PageQuery & { ownerId?: string } = {}): Promise<Page<Wallet>> => {
      const q = { ...pageQuery(query), ...(query.ownerId !== undefined ? { ownerId: query.ownerId } : {}) };
      return this.#list((api, init) => api.GET("/v1/wallets", { ...init, params: { query: q } }));
    },
    get: async (walletId: string): Promise<Wallet> => {
      validateId(walletId, "wal", "walletId");
      return this.#read((api, init) => api.GET("/v1/wallets/{walletId}", { ...init, params: { path: { walletId } } }));
    },
    /** Money in from outside. Pass your own idempotencyKey (e.g. the bank transfer's id) to make a resend harmless. */
    deposit: async (walletId: string, amount: Amount, opts: { idempotencyKey?: string } = {}): Promise<Transfer> => {
      validateId(walletId, "wal", "walletId");
      const body = { amount: this.#money(amount) };
      return this.#write(opts.idempotencyKey, (api, init, k) => api.POST("/v1/wallets/{walletId}/deposits", { ...init, params: { path: { walletId }, header: { "idempotency-key": k } }, body }));
    },
    withdraw: async (walletId: string, amount: Amount, opts: { idempotencyKey?: string } = {}): Promise<Transfer> => {
      validateId(walletId, "wal", "walletId");
      const body = { amount: this.#money(amount) };
      return this.#write(opts.idempotencyKey, (api, init, k) => api.POST("/v1/wallets/{walletId}/withdrawals", { ...init, params: { path: { walletId }, header: { "idempotency-key": k } }, body }));
    },
    /** A wallet's or a sub-wallet's balance. */
    balance: async (walletOrSubWalletId: string): Promise<Balance> => {
      if (typeof walletOrSubWalletId === "string" && walletOrSubWalletId.startsWith("sw_")) {
        const subWalletId = validateId(walletOrSubWalletId, "sw", "subWalletId");
        return this.#read((api, init) => api.GET("/v1/sub-wallets/{subWalletId}/balance", { ...init, params: { path: { subWalletId } } }));
      }
      const walletId = validateId(walletOrSubWalletId, "wal", "walletId");
      return this.#read((api, init) => api.GET("/v1/wallets/{walletId}/balance", { ...init, params: { path: { walletId } } }));
    },
    /** A wallet's or a sub-wallet's statement: entries with running balances, oldest first. */
    statement: async (walletOrSubWalletId: string, opts: { cursor?: string; limit?: number } = {}): Promise<StatementPage> => {
      object(opts, "opts");
      const query = { ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}), ...(opts.limit !== undefined ? { limit: opts.limit } : {}) };
      if (typeof walletOrSubWalletId === "string" && walletOrSubWalletId.startsWith("sw_")) {
        const subWalletId = validateId(walletOrSubWalletId, "sw", "subWalletId");
        return this.#read((api, init) => api.GET("/v1/sub-wallets/{subWalletId}/statement", { ...init, params: { path: { subWalletId }, query } }));
      }
      const walletId = validateId(walletOrSubWalletId, "wal", "walletId");
      return this.#read((api, init) => api.GET("/v1/wallets/{walletId}/statement", { ...init, params: { path: { walletId }, query } }));
    },
    createSubWallet: async (walletId: string, input: { name: string; budget?: Amount; policy?: PolicyInput; idempotencyKey?: string }): Promise<SubWallet> => {
      validateId(walletId, "wal", "walletId");
      object(input);
      const body = { name: input.name, ...(input.budget !== undefined ? { budget: this.#money(input.budget) } : {}), ...(input.policy !== undefined ? { policy: input.policy } : {}) };
      return this.#write(input.idempotencyKey, (api, init) => api.POST("/v1/wallets/{walletId}/sub-wallets", { ...init, params: { path: { walletId } }, body: body as never }));
    },
    listSubWallets: async (walletId: string, query: PageQuery = {}): Promise<Page<SubWallet>> => {
      validateId(walletId, "wal", "walletId");
      return this.#list((api, init) => api.GET("/v1/wallets/{walletId}/sub-wallets", { ...init, params: { path: { walletId }, query: pageQuery(query) } }));
    },
    getSubWallet: async (subWalletId: string): Promise<SubWallet> => {
      validateId(subWalletId, "sw", "subWalletId");
      return this.#read((api, init) => api.GET("/v1/sub-wallets/{subWalletId}", { ...init, params: { path: { subWalletId } } }));
    },
    /** Replaces the policy (a new version). */
    updatePolicy: async (subWalletId: string, policy: PolicyInput): Promise<SubWallet> => {
      validateId(subWalletId, "sw", "subWalletId");
      object(policy, "policy");
      return this.#read((api, init) => api.PUT("/v1/sub-wallets/{subWalletId}/policy", { ...init, params: { path: { subWalletId } }, body: policy as never }) as Promise<Answer>);
    },
    fundSubWallet: async (subWalletId: string, amount: Amount, opts: { idempotencyKey?: string } = {}): Promise<Transfer> => {
      validateId(subWalletId, "sw", "subWalletId");
      const body = { amount: this.#money(amount) };
      return this.#write(opts.idempotencyKey, (api, init, k) => api.POST("/v1/sub-wallets/{subWalletId}/fund", { ...init, params: { path: { subWalletId }, header: { "idempotency-key": k } }, body }));
    },
    defundSubWallet: async (subWalletId: string, amount: Amount, opts: { idempotencyKey?: string } = {}): Promise<Transfer> => {
      validateId(subWalletId, "sw", "subWalletId");
      const body = { amount: this.#money(amount) };
      return this.#write(opts.idempotencyKey, (api, init, k) => api.POST("/v1/sub-wallets/{subWalletId}/defund", { ...init, params: { path: { subWalletId }, header: { "idempotency-key": k } }, body }));
    },
    /** The kill switch: every next payment from the sub-wallet is refused. */
    freeze: async (subWalletId: string, opts: { reason?: string } = {}): Promise<SubWallet> => this.#state(subWalletId, "freeze", opts.reason),
    unfreeze: async (subWalletId: string): Promise<SubWallet> => this.#state(subWalletId, "unfreeze"),
    /** Closes the sub-wallet; what is left returns to the wallet. */
    close: async (subWalletId: string): Promise<SubWallet> => this.#state(subWalletId, "close"),
    budget: async (subWalletId: string): Promise<BudgetStatus> => {
      validateId(subWalletId, "sw", "subWalletId");
      return this.#read((api, init) => api.GET("/v1/sub-wallets/{subWalletId}/budget", { ...init, params: { path: { subWalletId } } }));
    },
  };

  async #state(subWalletId: string, verb: "freeze" | "unfreeze" | "close", reason?: string): Promise<SubWallet> {
    validateId(subWalletId, "sw", "subWalletId");
    const body = reason !== undefined ? { reason } : {};
    return this.#write(undefined, (api, init) => api.POST(`/v1/sub-wallets/{subWalletId}/${verb}`, { ...init, params: { path: { subWalletId } }, body } as never));
  }

  readonly agents = {
    /** Registers an agent with its PUBLIC key (recommended), or has the server generate a pair (the private key comes back once). */
    register: async (input: RegisterAgentInput & { idempotencyKey?: string }): Promise<KeyResult> => {
      object(input);
      const { idempotencyKey, ...body } = input;
      return this.#write(idempotencyKey, (api, init) => api.POST("/v1/agents", { ...init, body: body as never }));
    },
    list: async (query: PageQuery = {}): Promise<Page<Agent>> => this.#list((api, init) => api.GET("/v1/agents", { ...init, params: { query: pageQuery(query) } })),
    get: async (agentId: string): Promise<Agent> => {
      validateId(agentId, "agt", "agentId");
      return this.#read((api, init) => api.GET("/v1/agents/{agentId}", { ...init, params: { path: { agentId } } }));
    },
    rotateKey: async (agentId: string, input: Omit<RotateKeyInput, "graceMs"> = {}): Promise<KeyResult> => {
      validateId(agentId, "agt", "agentId");
      object(input);
      return this.#write(undefined, (api, init) => api.POST("/v1/agents/{agentId}/keys", { ...init, params: { path: { agentId } }, body: input as never }));
    },
    revokeKey: async (agentId: string, kid: string): Promise<Agent> => {
      validateId(agentId, "agt", "agentId");
      if (typeof kid !== "string" || kid.length === 0 || kid.length > 128) throw new AgentPayError("INVALID_INPUT", "kid must be a key id", { field: "kid" });
      return this.#write(undefined, (api, init) => api.POST("/v1/agents/{agentId}/keys/{kid}/revoke", { ...init, params: { path: { agentId, kid } } }));
    },
    disable: async (agentId: string): Promise<Agent> => {
      validateId(agentId, "agt", "agentId");
      return this.#write(undefined, (api, init) => api.POST("/v1/agents/{agentId}/disable", { ...init, params: { path: { agentId } } }));
    },
  };

  readonly grants = {
    create: async (input: Omit<CreateGrantInput, "expiresAtMs"> & { idempotencyKey?: string }): Promise<Grant> => {
      object(input);
      const { idempotencyKey, ...body } = input;
      return this.#write(idempotencyKey, (api, init) => api.POST("/v1/grants", { ...init, body: body as never }));
    },
    list: async (query: PageQuery & { subWalletId?: string; agentId?: string } = {}): Promise<Page<Grant>> => {
      const q = { ...pageQuery(query), ...(query.subWalletId ? { subWalletId: query.subWalletId } : {}), ...(query.agentId ? { agentId: query.agentId } : {}) };
      return this.#list((api, init) => api.GET("/v1/grants", { ...init, params: { query: q } }));
    },
    get: async (grantId: string): Promise<Grant> => {
      validateId(grantId, "gnt", "grantId");
      return this.#read((api, init) => api.GET("/v1/grants/{grantId}", { ...init, params: { path: { grantId } } }));
    },
    /** Revokes at once: the agent's next intent on it is refused. */
    revoke: async (grantId: string): Promise<Grant> => {
      validateId(grantId, "gnt", "grantId");
      return this.#write(undefined, (api, init) => api.POST("/v1/grants/{grantId}/revoke", { ...init, params: { path: { grantId } } }));
    },
  };

  /** The operator's: merchants and their status. */
  readonly merchants = {
    register: async (input: RegisterMerchantInput & { idempotencyKey?: string }): Promise<MerchantRegistration> => {
      object(input);
      const { idempotencyKey, ...body } = input;
      return this.#write(idempotencyKey, (api, init) => api.POST("/v1/merchants", { ...init, body: body as never }));
    },
    list: async (query: PageQuery = {}): Promise<Page<Merchant>> => this.#list((api, init) => api.GET("/v1/merchants", { ...init, params: { query: pageQuery(query) } })),
    get: async (merchantId: string): Promise<Merchant> => {
      validateId(merchantId, "mer", "merchantId");
      return this.#read((api, init) => api.GET("/v1/merchants/{merchantId}", { ...init, params: { path: { merchantId } } }));
    },
    setStatus: async (merchantId: string, status: "active" | "disabled"): Promise<Merchant> => {
      validateId(merchantId, "mer", "merchantId");
      if (status !== "active" && status !== "disabled") throw new AgentPayError("INVALID_INPUT", "status must be active or disabled", { field: "status" });
      const verb = status === "active" ? "enable" : "disable";
      return this.#write(undefined, (api, init) => api.POST(`/v1/merchants/{merchantId}/${verb}`, { ...init, params: { path: { merchantId } } }));
    },
  };

  readonly approvals = {
    /** What waits for the person, oldest first (a person's key: its own). */
    listPending: async (query: PageQuery & { ownerId?: string } = {}): Promise<Page<ApprovalRequest>> => {
      const q = { ...pageQuery(query), ...(query.ownerId !== undefined ? { ownerId: query.ownerId } : {}) };
      return this.#list((api, init) => api.GET("/v1/approvals", { ...init, params: { query: q } }));
    },
    get: async (approvalId: string): Promise<ApprovalRequest> => {
      validateId(approvalId, "apr", "approvalId");
      return this.#read((api, init) => api.GET("/v1/approvals/{approvalId}", { ...init, params: { path: { approvalId } } }));
    },
    /** Exactly the waiting payment goes ahead: hold and token (the token goes to the agent). */
    approve: async (approvalId: string, opts: { note?: string } = {}): Promise<ApprovalOutcome> => this.#resolve(approvalId, "approve", opts),
    /** The payment is recorded as denied; nothing moves. */
    deny: async (approvalId: string, opts: { note?: string } = {}): Promise<ApprovalOutcome> => this.#resolve(approvalId, "deny", opts),
  };

  async #resolve(approvalId: string, verb: "approve" | "deny", opts: { note?: string }): Promise<ApprovalOutcome> {
    validateId(approvalId, "apr", "approvalId");
    object(opts, "opts");
    const body = opts.note !== undefined ? { note: opts.note } : {};
    return this.#write(undefined, (api, init) => api.POST(`/v1/approvals/{approvalId}/${verb}`, { ...init, params: { path: { approvalId } }, body } as never));
  }

  readonly payments = {
    /** Payments, newest first (a person's key: its own). */
    list: async (query: PageQuery & { subWalletId?: string; agentId?: string; merchantId?: string; ownerId?: string } = {}): Promise<Page<Payment>> => {
      const q: Record<string, string | number> = { ...pageQuery(query) };
      for (const k of ["subWalletId", "agentId", "merchantId", "ownerId"] as const) if (query[k] !== undefined) q[k] = query[k];
      return this.#list((api, init) => api.GET("/v1/payments", { ...init, params: { query: q } }));
    },
    get: async (paymentId: string): Promise<Payment> => {
      validateId(paymentId, "pay", "paymentId");
      return this.#read((api, init) => api.GET("/v1/payments/{paymentId}", { ...init, params: { path: { paymentId } } }));
    },
  };

  readonly apiKeys = {
    /** A person key (operator only), a merchant's further key, or another operator key. */
    create: async (input: { kind: ApiKeyKind; ownerId?: string; merchantId?: string; name?: string }): Promise<CreatedKey> => {
      object(input);
      const body = input.name !== undefined ? { name: input.name } : {};
      if (input.kind === "person") {
        const ownerId = input.ownerId;
        if (typeof ownerId !== "string" || ownerId.length === 0) throw new AgentPayError("INVALID_INPUT", "a person key needs ownerId", { field: "ownerId" });
        return this.#write(undefined, (api, init) => api.POST("/v1/persons/{ownerId}/api-keys", { ...init, params: { path: { ownerId } }, body }));
      }
      if (input.kind === "merchant") {
        const merchantId = validateId(input.merchantId, "mer", "merchantId");
        return this.#write(undefined, (api, init) => api.POST("/v1/merchants/{merchantId}/api-keys", { ...init, params: { path: { merchantId } }, body }));
      }
      if (input.kind === "operator") return this.#write(undefined, (api, init) => api.POST("/v1/operator/api-keys", { ...init, body }));
      throw new AgentPayError("INVALID_INPUT", "kind must be person, merchant or operator", { field: "kind" });
    },
    list: async (query: PageQuery & ({ kind: "person"; ownerId: string } | { kind: "merchant"; merchantId: string })): Promise<Page<ShownApiKey>> => {
      object(query, "query");
      if (query.kind === "person") {
        const ownerId = query.ownerId;
        return this.#list((api, init) => api.GET("/v1/persons/{ownerId}/api-keys", { ...init, params: { path: { ownerId }, query: pageQuery(query) } }));
      }
      const merchantId = validateId((query as { merchantId?: string }).merchantId, "mer", "merchantId");
      return this.#list((api, init) => api.GET("/v1/merchants/{merchantId}/api-keys", { ...init, params: { path: { merchantId }, query: pageQuery(query) } }));
    },
    /** A new secret; the old one keeps working for `grace` ("15m"), then stops. */
    rotate: async (keyId: string, opts: { grace?: string } = {}): Promise<CreatedKey> => {
      validateId(keyId, "key", "keyId");
      object(opts, "opts");
      return this.#write(undefined, (api, init) => api.POST("/v1/api-keys/{keyId}/rotate", { ...init, params: { path: { keyId } }, body: opts }));
    },
    revoke: async (keyId: string): Promise<ShownApiKey> => {
      validateId(keyId, "key", "keyId");
      return this.#write(undefined, (api, init) => api.POST("/v1/api-keys/{keyId}/revoke", { ...init, params: { path: { keyId } } }));
    },
  };

  /** The operator's: prove the ledger's invariants (Σ debits = Σ credits per currency, limits). */
  readonly ledger = {
    check: async (): Promise<InvariantReport> => this.#read((api, init) => api.GET("/v1/ledger/check", { ...init })),
  };

  /** The operator's: compare the settlement contract with the ledger (the server runs with the chain bridge). */
  readonly chain = {
    reconcile: async (input: { rpcUrl: string; settlement: string; blockNumber?: string }): Promise<ReconcileReport> => {
      object(input, "input");
      return this.#write(undefined, (api, init) => api.POST("/v1/chain/reconcile", { ...init, body: input }));
    },
  };
}
