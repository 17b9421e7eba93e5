import { AgentPayError, CurrencyRegistry, SignatureWorker, every, systemClock } from "./core/index.ts";
import type { Clock } from "./core/index.ts";
import { Engine, LevelStore, LogStore, MemoryStore } from "./engine/index.ts";
import type { Store } from "./engine/index.ts";
import { Ledger } from "./ledger/index.ts";
import { Wallets, subWalletKey } from "./wallets/index.ts";
import { Approvals } from "./approvals/index.ts";
import { Agents, Grants } from "./agents/index.ts";
import { EventDeliverer, validateNotificationRules } from "./events/index.ts";
import type { EventDelivererOptions } from "./events/index.ts";
import { Merchants, merchantKey } from "./merchants/index.ts";
import { RiskEngine } from "./risk/index.ts";
import type { RiskEngineOptions } from "./risk/index.ts";
import { TokenIssuer, TokenKeyRing, verifyTokenOffline } from "./tokens/index.ts";
import type { IssuerVerifyOptions, Jwks, TokenAlg, VerifiedToken } from "./tokens/index.ts";
import { AgentClient, OnchainPayments, Payments, allowAllRisk, notifyExpiringGrants } from "./payments/index.ts";
import type { PaymentsContext } from "./payments/index.ts";
import { ChainKeys } from "./chain/index.ts";
import type { AgentClientOptions, RiskHook } from "./payments/index.ts";
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
  /** Event delivery: options, or false to not deliver (events still queue durably). */
  delivery?: EventDelivererOptions | false;
  /** Background sweepers (expired tokens and approvals, old nonces, old events). Default true. */
  background?: boolean;
  /** How long finished events and their delivery logs are kept. Default 7 days. */
  eventRetentionMs?: number;
}

/** A token view for merchants: verify offline-capable, and the issuer's public keys. */
export interface TokensApi {
  /** Checks a token's signature and claims for `merchant` (does not redeem it). */
  verify(token: string, opts: IssuerVerifyOptions): VerifiedToken;
  /** The issuer's public keys, for offline verification. */
  jwks(): Jwks;
  readonly keyRing: TokenKeyRing;
}

interface Parts {
  engine: Engine; ledger: Ledger; wallets: Wallets; approvals: Approvals; agents: Agents; grants: Grants;
  merchants: Merchants; payments: Payments; tokens: TokensApi; events: EventDeliverer; risk: RiskEngine | undefined;
  currencies: CurrencyRegistry; clock: Clock; chain: OnchainPayments;
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
  readonly approvals: Approvals;
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
  /**
   * The chain bridge: agents' voucher keys, binding sub-wallets to on-chain buckets, settlement
   * clients, the event watcher and reconcile. Inert until a sub-wallet is bound.
   */
  readonly chain: OnchainPayments;
  readonly #background: boolean;
  /** Intent checks and token signatures, batched on a thread of their own. */
  #signatures: SignatureWorker;
  #eventRetentionMs = 7 * 86_400_000;
  #stops: Array<() => void> = [];
  #delivery: boolean;
  /** Set when the store is PostgreSQL: this instance is one node of a replicated ledger. */
  #node: PostgresNode<AgentPay> | undefined;

  private constructor(p: Parts, background: boolean, delivery: boolean, signatures: SignatureWorker) {
    this.#delivery = delivery;
    this.#signatures = signatures;
    this.engine = p.engine;
    this.ledger = p.ledger;
    this.wallets = p.wallets;
    this.approvals = p.approvals;
    this.agents = p.agents;
    this.grants = p.grants;
    this.merchants = p.merchants;
    this.payments = p.payments;
    this.tokens = p.tokens;
    this.events = p.events;
    this.risk = p.risk;
    this.currencies = p.currencies;
    this.clock = p.clock;
    this.chain = p.chain;
    this.#background = background;
  }

  static async open(options: AgentPayOptions): Promise<AgentPay> {
    if (options === null || typeof options !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    const sources = [options.dir !== undefined, options.memory === true, options.store !== undefined, options.postgres !== undefined].filter(Boolean).length;
    if (sources !== 1) throw new AgentPayError("INVALID_INPUT", "give exactly one of dir, memory, store or postgres");
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
    const { node, instance } = await PostgresNode.start<AgentPay>(cfg, {
      build: (store) => AgentPay.#assemble(options, store),
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
  static async #assemble(options: AgentPayOptions, store: Store): Promise<AgentPay> {
    const standby = store instanceof PostgresStore;
    const clock = options.clock ?? systemClock;
    const engine = Engine.create({
      store, clock,
      ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
    });
    // A node starts as a standby: it replays and refuses commands until it holds the lease.
    if (standby) engine.refuseWrites(store.notLeader());
    const currencies = new CurrencyRegistry();
    const ledger = new Ledger(engine, { currencies });
    const wallets = new Wallets(engine, ledger, currencies);
    wallets.setNotifyNormalizer((notify) => validateNotificationRules(notify));
    const approvals = new Approvals(engine);
    // The thread starts at the first signature, so an open that fails leaves nothing behind.
    const signatures = new SignatureWorker();
    const agents = new Agents(engine, { signatures });
    const grants = new Grants(engine, { subWalletExists: (tx, id) => tx.has(subWalletKey(id)) });
    const merchants = new Merchants(engine, ledger, currencies);
    const keyRing = new TokenKeyRing(engine, { ...(options.tokenAlg ? { alg: options.tokenAlg } : {}) });
    const issuer = new TokenIssuer(keyRing, {
      issuer: options.issuer ?? "agentpay", currencies, signatures, ...(options.tokenTtlMs !== undefined ? { defaultTtlMs: options.tokenTtlMs } : {}),
    });
    let risk: RiskEngine | undefined;
    let riskHook: RiskHook;
    if (options.risk === "off") riskHook = allowAllRisk;
    else if (isRiskHook(options.risk)) riskHook = options.risk;
    else riskHook = risk = new RiskEngine({ currencies, ...(options.risk ?? {}) });
    const chain = new OnchainPayments({ engine, ledger, keys: new ChainKeys(engine) });
    const paymentsCtx: PaymentsContext = { engine, ledger, issuer, currencies, risk: riskHook, vouchers: chain };
    const payments = new Payments(paymentsCtx, agents, approvals);
    chain.attach(paymentsCtx);
    const events = new EventDeliverer(engine, {
      resolveSecret: (ref) => {
        // Merchant callback secrets live in the merchant record, never in the event.
        const m = /^merchant:(mer_[0-9a-z]+)$/.exec(ref);
        return m ? engine.read<{ callbackSecret: string }>(merchantKey(m[1]!))?.callbackSecret : undefined;
      },
      ...(options.delivery || {}),
    });
    await engine.load();
    payments.finishLoad();
    if (!standby) await keyRing.init(); // a node does this when it leads (it may write the first key)
    const tokens: TokensApi = {
      verify: (token, opts) => issuer.verify(token, opts),
      jwks: () => issuer.jwks(),
      keyRing,
    };
    const pay = new AgentPay({
      engine, ledger, wallets, approvals, agents, grants, merchants, payments, tokens, events, risk, currencies, clock, chain,
    }, options.background !== false, options.delivery !== false, signatures);
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
   */
  #swapParts(fresh: AgentPay): void {
    const a = this as unknown as Record<string, unknown>;
    const b = fresh as unknown as Record<string, unknown>;
    for (const k of PART_NAMES) [a[k], b[k]] = [b[k], a[k]];
    [this.#signatures, fresh.#signatures] = [fresh.#signatures, this.#signatures];
    [this.#stops, fresh.#stops] = [fresh.#stops, this.#stops];
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
  "engine", "ledger", "wallets", "approvals", "agents", "grants", "merchants", "payments", "tokens", "events", "risk", "currencies", "clock", "chain",
] as const;

export { verifyTokenOffline };
