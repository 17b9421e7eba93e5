import { AgentPayError, CurrencyRegistry, SignatureWorker, every, systemClock, toWire } from "./core/index.ts";
import type { Clock } from "./core/index.ts";
import { Engine, LevelStore, LogStore, MemoryStore } from "./engine/index.ts";
import type { Store } from "./engine/index.ts";
import { Ledger } from "./ledger/index.ts";
import { Wallets, subWalletKey } from "./wallets/index.ts";
import { Approvals } from "./approvals/index.ts";
import { ApiKeys } from "./api-keys/index.ts";
import type { ApprovalRequest, ResolveOptions } from "./approvals/index.ts";
import { Agents, Grants } from "./agents/index.ts";
import { EVENT_PREFIX, EventDeliverer, WebhookAddressPolicy, validateNotificationRules } from "./events/index.ts";
import type { EventDelivererOptions, EventRecord } from "./events/index.ts";
import { Merchants, merchantKey } from "./merchants/index.ts";
import { RiskEngine } from "./risk/index.ts";
import type { RiskEngineOptions } from "./risk/index.ts";
import { TokenIssuer, TokenKeyRing, verifyTokenOffline } from "./tokens/index.ts";
import type { IssuerVerifyOptions, Jwks, TokenAlg, VerifiedToken } from "./tokens/index.ts";
import { AgentClient, CHAIN_BINDING_PREFIX, Payments, allowAllRisk, notifyExpiringGrants } from "./payments/index.ts";
import type { AgentClientOptions, ApprovedPayment, PaymentsContext, RiskHook } from "./payments/index.ts";
// Types only: the bridge (and viem) load with `{ chain: true }`, never with the core.
import type { OnchainPayments } from "./chain-bridge/index.ts";
// The SQL driver itself loads only when a PostgreSQL node opens.
import { PostgresNode, PostgresStore, postgresConfig } from "./postgres/index.ts";
import type { NodeStatus, PostgresOptions, Role } from "./postgres/index.ts";

export interface AgentPayOptions {
  /** Directory of the embedded store. */
  dir?: string;
  /**
   * With `dir`: "log" (default), an append-only log with snapshots (LogStore), or "level", LevelDB
   * (LevelStore), e.g. for a directory an earlier version created.
   */
  storage?: "log" | "level";
  /** Keep everything in memory (tests). Same code, no disk. */
  memory?: boolean;
  /** A store of your own (e.g. a MemoryStore shared across reopen in tests). */
  store?: Store;
  /**
   * PostgreSQL: a connection URL or options. The ledger's log, snapshot and read models live there;
   * of the nodes opened on one schema, one leads (takes commands) and the others are standbys that
   * replay the log, serve reads and take over when the leader is gone (see `role`, docs/POSTGRES.md).
   */
  postgres?: string | PostgresOptions;
  clock?: Clock;
  /** Engine queue limit (back-pressure). */
  maxQueue?: number;
  /** Commands per durable batch. */
  maxBatch?: number;
  /** The `iss` of payment tokens. Default "agentpay". */
  issuer?: string;
  /** Token signature algorithm for new keys. Default EdDSA. */
  tokenAlg?: TokenAlg;
  /** Token lifetime. Default 10 minutes. */
  tokenTtlMs?: number;
  /** The risk engine: options for the built-in one, your own hook, or "off" (allow all). */
  risk?: RiskEngineOptions | RiskHook | "off";
  /**
   * Event delivery: options, or false to not deliver (events still queue durably). Its
   * `allowPrivateNetworks` / `allowedNetworks` also decide which merchant callback URLs
   * `merchants.register` accepts (docs/WEBHOOKS.md).
   */
  delivery?: EventDelivererOptions | false;
  /** Background sweepers (expired tokens and approvals, old nonces, old events). Default true. */
  background?: boolean;
  /** How long finished events and their delivery logs are kept. Default 7 days. */
  eventRetentionMs?: number;
  /**
   * Load the chain bridge (`pay.chain`: on-chain buckets, vouchers, the settlement watcher). Off by
   * default, so a ledger-only program never loads viem. A directory that holds chain bindings is
   * refused without it (CHAIN_NOT_ENABLED), so on-chain payments are never handled half-way.
   */
  chain?: boolean;
}

/** The person's inbox of approval requests; approving a payment returns its token. */
export interface PaymentApprovals extends Omit<Approvals, "approve"> {
  approve(approvalId: string, opts?: ResolveOptions): Promise<{ readonly approval: ApprovalRequest; readonly result: ApprovedPayment }>;
}

/** A token view for merchants: verify offline-capable, and the issuer's public keys. */
export interface TokensApi {
  /** Checks a token's signature and claims for `merchant` (does not redeem it). */
  verify(token: string, opts: IssuerVerifyOptions): VerifiedToken;
  /** The issuer's public keys, for offline verification. */
  jwks(): Jwks;
  readonly keyRing: TokenKeyRing;
  /** The tokens' `iss`. */
  readonly issuer: string;
  /** How long a new token lives. */
  readonly ttlMs: number;
}

interface Parts {
  engine: Engine; ledger: Ledger; wallets: Wallets; approvals: Approvals; agents: Agents; grants: Grants;
  merchants: Merchants; payments: Payments; tokens: TokensApi; events: EventDeliverer; risk: RiskEngine | undefined;
  currencies: CurrencyRegistry; clock: Clock; chain: OnchainPayments | undefined; apiKeys: ApiKeys;
}

function isRiskHook(r: unknown): r is RiskHook {
  return typeof r === "object" && r !== null && typeof (r as RiskHook).score === "function" && typeof (r as RiskHook).record === "function";
}

/**
 * The facade: `AgentPay.open()` wires the engine, the ledger and every module, loads
 * the state, and starts the background work. Nothing is global: two instances never share state.
 */
export class AgentPay {
  readonly engine: Engine;
  readonly ledger: Ledger;
  readonly wallets: Wallets;
  readonly approvals: PaymentApprovals;
  readonly agents: Agents;
  readonly grants: Grants;
  readonly merchants: Merchants;
  readonly payments: Payments;
  readonly tokens: TokensApi;
  readonly events: EventDeliverer;
  /** The built-in risk engine, when in use. */
  readonly risk: RiskEngine | undefined;
  readonly currencies: CurrencyRegistry;
  readonly clock: Clock;
  /** API keys of the HTTP API's operators, persons and merchants (hashed; shown once). */
  readonly apiKeys: ApiKeys;
  #chain: OnchainPayments | undefined;
  #eventListeners: Set<(event: EventRecord) => void>;
  readonly #background: boolean;
  /** Intent checks and token signatures, batched on a thread of their own. */
  #signatures: SignatureWorker;
  #eventRetentionMs = 7 * 86_400_000;
  #stops: Array<() => void> = [];
  readonly #delivery: boolean;
  /** Set when the store is PostgreSQL: this instance is one node of a replicated ledger. */
  #node: PostgresNode<AgentPay> | undefined;

  private constructor(p: Parts, background: boolean, delivery: boolean, signatures: SignatureWorker, listeners: Set<(event: EventRecord) => void>) {
    this.#delivery = delivery;
    this.#eventListeners = listeners;
    this.#signatures = signatures;
    this.engine = p.engine;
    this.ledger = p.ledger;
    this.wallets = p.wallets;
    this.approvals = p.approvals as unknown as PaymentApprovals; // the only subject kind is "payment"
    this.agents = p.agents;
    this.grants = p.grants;
    this.merchants = p.merchants;
    this.payments = p.payments;
    this.tokens = p.tokens;
    this.events = p.events;
    this.risk = p.risk;
    this.currencies = p.currencies;
    this.clock = p.clock;
    this.#chain = p.chain;
    this.apiKeys = p.apiKeys;
    this.#background = background;
  }

  static async open(options: AgentPayOptions): Promise<AgentPay> {
    if (options === null || typeof options !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    const sources = [options.dir !== undefined, options.memory === true, options.store !== undefined, options.postgres !== undefined].filter(Boolean).length;
    if (sources !== 1) throw new AgentPayError("INVALID_INPUT", "give exactly one of dir, memory, store or postgres");
    const st = options.store as unknown as Record<string, unknown> | undefined;
    if (st !== undefined && (st === null || typeof st !== "object" || ["open", "entries", "write", "close"].some((m) => typeof st[m] !== "function"))) {
      throw new AgentPayError("INVALID_INPUT", "store must implement open, entries, write and close", { field: "store" });
    }
    if (options.dir !== undefined && (typeof options.dir !== "string" || options.dir.length === 0)) {
      throw new AgentPayError("INVALID_INPUT", "dir must be a non-empty path", { field: "dir" });
    }
    if (options.storage !== undefined && (options.dir === undefined || (options.storage !== "log" && options.storage !== "level"))) {
      throw new AgentPayError("INVALID_INPUT", "storage is \"log\" or \"level\", and goes with dir", { field: "storage" });
    }
    if (options.postgres !== undefined) return AgentPay.#openOnPostgres(options);
    const store = options.store ?? (options.memory ? new MemoryStore() : options.storage === "level" ? new LevelStore(options.dir!) : new LogStore(options.dir!));
    return AgentPay.#assemble(options, store);
  }

  /** The first node instance, loaded; the node then leads or follows, and rebuilds it when it must. */
  static async #openOnPostgres(options: AgentPayOptions): Promise<AgentPay> {
    const cfg = postgresConfig(options.postgres);
    // One registry for every rebuild: assets a caller registered (registerAsset) must survive a takeover.
    const currencies = new CurrencyRegistry();
    const { node, instance } = await PostgresNode.start<AgentPay>(cfg, {
      build: (store) => AgentPay.#assemble(options, store, currencies),
      engine: (p) => p.engine,
      lead: (p) => p.#lead(),
      follow: (p) => p.#follow(),
      swap: (current, fresh) => current.#swapParts(fresh),
      discard: (old) => old.#closeParts(),
    });
    instance.#node = node;
    return instance;
  }

  /** Wires the engine and every module on `store` and loads it. On a PostgreSQL store, as a standby. */
  static async #assemble(options: AgentPayOptions, store: Store, sharedCurrencies?: CurrencyRegistry): Promise<AgentPay> {
    const standby = store instanceof PostgresStore;
    const clock = options.clock ?? systemClock;
    const engine = Engine.create({
      store, clock,
      ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
    });
    // A node starts as a standby: it replays and refuses commands until it holds the lease.
    if (standby) engine.refuseWrites(store.notLeader());
    const currencies = sharedCurrencies ?? new CurrencyRegistry();
    const ledger = new Ledger(engine, { currencies });
    const wallets = new Wallets(engine, ledger, currencies);
    wallets.setNotifyNormalizer((notify) => {
      const rules = validateNotificationRules(notify);
      // resolveSecret (below) turns a secretRef into a secret the server holds for someone else (a
      // merchant's callback secret): a person's channel brings its own secret, or it could get webhooks signed as that merchant.
      rules.forEach((r, i) => {
        if (r.channel?.kind === "webhook" && r.channel.secretRef !== undefined) {
          throw new AgentPayError("INVALID_INPUT", "a notification channel gives its own secret, not a secretRef", { field: `rules[${i}].channel.secretRef` });
        }
      });
      return rules;
    });
    const approvals = new Approvals(engine);
    // The thread starts at the first signature, so an open that fails leaves nothing behind.
    const signatures = new SignatureWorker();
    const agents = new Agents(engine, { signatures });
    const grants = new Grants(engine, { subWalletExists: (tx, id) => tx.has(subWalletKey(id)) });
    // The webhook address policy (SSRF) also applies when merchants register their callback URLs.
    const merchants = new Merchants(engine, ledger, currencies, { webhookPolicy: new WebhookAddressPolicy(options.delivery || {}) });
    const apiKeys = new ApiKeys(engine);
    const keyRing = new TokenKeyRing(engine, { ...(options.tokenAlg ? { alg: options.tokenAlg } : {}) });
    const issuer = new TokenIssuer(keyRing, {
      issuer: options.issuer ?? "agentpay", currencies, signatures, ...(options.tokenTtlMs !== undefined ? { defaultTtlMs: options.tokenTtlMs } : {}),
    });
    let risk: RiskEngine | undefined;
    let riskHook: RiskHook;
    if (options.risk === "off") riskHook = allowAllRisk;
    else if (isRiskHook(options.risk)) riskHook = options.risk;
    else riskHook = risk = new RiskEngine({ currencies, ...(options.risk ?? {}) });
    if (options.chain !== undefined && typeof options.chain !== "boolean") {
      throw new AgentPayError("INVALID_INPUT", "chain must be a boolean", { field: "chain" });
    }
    let chain: OnchainPayments | undefined;
    if (options.chain) {
      const bridge = await import("./chain-bridge/index.ts");
      chain = new bridge.OnchainPayments({ engine, ledger });
    }
    let chainState = false;
    if (!chain) engine.observe(CHAIN_BINDING_PREFIX, () => { chainState = true; });
    const paymentsCtx: PaymentsContext = { engine, ledger, issuer, currencies, risk: riskHook, ...(chain ? { vouchers: chain } : {}) };
    const payments = new Payments(paymentsCtx, agents, approvals);
    wallets.setFreezeHook((tx, sw) => payments.voidOutstandingIn(tx, sw.id));
    chain?.attach(paymentsCtx);
    const events = new EventDeliverer(engine, {
      resolveSecret: (ref) => {
        // Merchant callback secrets live in the merchant record, never in the event.
        const m = /^merchant:(mer_[0-9a-z]+)$/.exec(ref);
        return m ? engine.read<{ callbackSecret: string }>(merchantKey(m[1]!))?.callbackSecret : undefined;
      },
      ...(options.delivery || {}),
    });
    const listeners = new Set<(event: EventRecord) => void>();
    engine.observeDurable(EVENT_PREFIX, (_k, before, after) => {
      if (before || !after || listeners.size === 0) return;
      for (const l of listeners) {
        try {
          l(after as EventRecord);
        } catch { /* a listener's failure is its own */ }
      }
    });
    await engine.load();
    if (chainState) {
      await engine.close();
      throw new AgentPayError("CHAIN_NOT_ENABLED", "this store holds on-chain bindings: open it with { chain: true }");
    }
    payments.finishLoad();
    if (!standby) await keyRing.init(); // a node does this when it leads (it may write the first key)
    const tokens: TokensApi = {
      verify: (token, opts) => issuer.verify(token, opts),
      jwks: () => issuer.jwks(),
      keyRing,
      issuer: issuer.issuer,
      ttlMs: issuer.defaultTtlMs,
    };
    const pay = new AgentPay({
      engine, ledger, wallets, approvals, agents, grants, merchants, payments, tokens, events, risk, currencies, clock, chain, apiKeys,
    }, options.background !== false, options.delivery !== false, signatures, listeners);
    if (options.eventRetentionMs !== undefined) {
      if (!Number.isSafeInteger(options.eventRetentionMs) || options.eventRetentionMs < 0) {
        throw new AgentPayError("INVALID_INPUT", "eventRetentionMs must be a non-negative integer", { field: "eventRetentionMs" });
      }
      pay.#eventRetentionMs = options.eventRetentionMs;
    }
    if (!standby) {
      if (pay.#delivery) events.start();
      if (pay.#background) pay.startBackground();
    }
    return pay;
  }

  /**
   * "leader" when this instance takes commands. On PostgreSQL, a standby is "standby": it serves
   * reads from the replayed log and refuses commands with NOT_LEADER (whose details name the leader).
   * The embedded stores always lead.
   */
  get role(): Role {
    return this.#node?.role ?? "leader";
  }

  /** Calls `fn` with the new role on every change (PostgreSQL); returns the function that stops it. */
  onRoleChange(fn: (role: Role) => void): () => void {
    if (typeof fn !== "function") throw new AgentPayError("INVALID_INPUT", "onRoleChange takes a function");
    return this.#node ? this.#node.onRoleChange(fn) : () => {};
  }

  /** On PostgreSQL: the node's role, the lease's epoch and holder, its log position, its last error. */
  get replication(): NodeStatus | undefined {
    return this.#node?.status;
  }

  /** This node took the lease: the engine takes commands; start what a leader runs. */
  async #lead(): Promise<void> {
    await this.tokens.keyRing.init();
    if (this.#delivery) this.events.start();
    if (this.#background) this.startBackground();
  }

  /** This node lost the lease: stop the leader's background work (commands are refused already). */
  async #follow(): Promise<void> {
    this.#stopBackground();
    await this.events.stop();
  }

  /**
   * After a rebuild: this instance takes `fresh`'s parts and `fresh` this one's, to be closed. Parts
   * are read through `pay.<module>` each time, so callers see the new ones (agent clients forward).
   * Live event watchers move to the fresh engine's feed.
   */
  #swapParts(fresh: AgentPay): void {
    const a = this as unknown as Record<string, unknown>;
    const b = fresh as unknown as Record<string, unknown>;
    for (const k of PART_NAMES) [a[k], b[k]] = [b[k], a[k]];
    [this.#chain, fresh.#chain] = [fresh.#chain, this.#chain];
    [this.#signatures, fresh.#signatures] = [fresh.#signatures, this.#signatures];
    [this.#stops, fresh.#stops] = [fresh.#stops, this.#stops];
    for (const l of this.#eventListeners) fresh.#eventListeners.add(l);
    this.#eventListeners.clear();
    [this.#eventListeners, fresh.#eventListeners] = [fresh.#eventListeners, this.#eventListeners];
  }

  /** Sweepers: expired tokens release their holds, expired approvals become denials, old nonces go. */
  startBackground(): void {
    this.payments.startSweeper();
    this.ledger.startSweeper(); // holds placed through pay.ledger with a timeout
    this.#stops.push(
      every(5_000, () => this.approvals.expireDue()),
      every(60_000, () => this.notifyExpiringGrants()),
      every(600_000, () => this.events.prune({ olderThanMs: this.#eventRetentionMs })),
      this.agents.startNoncePruner(),
    );
  }

  /** Queues "grant about to expire" notifications per the sub-wallets' rules (the background runs it every minute). */
  notifyExpiringGrants(): Promise<number> {
    return notifyExpiringGrants(this.engine, this.grants);
  }

  /**
   * The chain bridge: agents' voucher keys, binding sub-wallets to on-chain buckets, settlement
   * clients, the event watcher and reconcile. Needs `AgentPay.open({ chain: true })`.
   */
  get chain(): OnchainPayments {
    if (!this.#chain) throw new AgentPayError("CHAIN_NOT_ENABLED", "the chain bridge is off: open agentpay with { chain: true }");
    return this.#chain;
  }

  /**
   * Calls `listener` with every event as it commits (after the batch is durable), live and
   * at most once, for feeds such as Server-Sent Events. Not a delivery: nothing is retried or
   * acknowledged (use `events.subscribe` for at-least-once). Returns the function that stops it.
   */
  watchEvents(listener: (event: EventRecord) => void): () => void {
    if (typeof listener !== "function") throw new AgentPayError("INVALID_INPUT", "listener must be a function");
    if (this.#eventListeners.size >= 10_000) throw new AgentPayError("ENGINE_OVERLOADED", "too many event watchers");
    this.#eventListeners.add(listener);
    return () => { this.#eventListeners.delete(listener); };
  }

  /**
   * The JSON-safe wire form of any result (amounts `{ value: "12.50", currency }` with this instance's
   * currencies, times RFC 3339, other bigints decimal strings): what the HTTP API sends.
   */
  toWire(value: unknown): unknown {
    return toWire(value, this.currencies);
  }

  /** The agent's side of the library: signs intents with the agent's key and asks to pay. */
  agentClient(opts: AgentClientOptions): AgentClient {
    // On PostgreSQL the parts may be rebuilt: the client then reaches the current ones.
    const payments = this.#node
      ? new Proxy(this.payments, {
        get: (_t, k) => {
          const v = Reflect.get(this.payments, k) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(this.payments) : v;
        },
      })
      : this.payments;
    return new AgentClient(payments, this.currencies, this.clock, opts);
  }

  async close(): Promise<void> {
    const node = this.#node;
    if (!node) return this.#closeParts();
    this.#node = undefined;
    await node.close(() => this.#closeParts());
  }

  #stopBackground(): void {
    this.payments.stopSweeper();
    this.ledger.stopSweeper();
    for (const stop of this.#stops.splice(0)) stop();
  }

  async #closeParts(): Promise<void> {
    this.#stopBackground();
    await this.events.stop();
    try {
      await this.engine.close();
    } finally {
      await this.#signatures.close();
    }
  }
}

/** The parts a PostgreSQL node rebuilds (see #swapParts). */
const PART_NAMES = [
  "engine", "ledger", "wallets", "approvals", "agents", "grants", "merchants", "payments", "tokens", "events", "risk", "clock", "apiKeys",
] as const;

export { verifyTokenOffline };
