import type { Address, Hex } from "viem";
import { AgentPayError, validateId } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import type { Ledger } from "../ledger/index.ts";
import { voidIn } from "../payments/index.ts";
import type { Payment, PaymentChainInfo, PaymentsContext, PreparedVoucher, VoucherHook, VoucherRequest } from "../payments/index.ts";
import type { SubWallet } from "../wallets/index.ts";
import { ChainKeys, ChainWatcher, SettlementClient, checkAddress } from "../chain/index.ts";
import type { ChainKeyInfo, ChainWatcherOptions, HostSigner, LogHandler, SettlementClientOptions, SignedVoucher } from "../chain/index.ts";
import { bindSubWallet, parseBindInput } from "./bind.ts";
import { BridgeIndexes } from "./indexes.ts";
import { EventMapper } from "./mapping.ts";
import { reconcile } from "./reconcile.ts";
import type { ReconcileOptions } from "./reconcile.ts";
import { ANOMALY_PREFIX, bindingKey, digestKey, voucherKey } from "./records.ts";
import type { BindSubWalletInput, ChainAnomaly, ChainBinding, ReconcileReport } from "./records.ts";
import { prepareVoucher, recordVoucherIn } from "./vouchers.ts";

export interface CreateWatcherOptions extends Omit<ChainWatcherOptions, "engine" | "handler" | "address" | "chainId"> {
  settlement: Address;
  /** Default: the client's chain id. */
  chainId?: number;
}

export interface OnchainOptions {
  engine: Engine;
  ledger: Ledger;
}

/**
 * The chain bridge of the payment flow (`pay.chain` when opened with `{ chain: true }`): agents'
 * voucher keys, binding sub-wallets to on-chain buckets, the voucher twin of each on-chain payment,
 * settlement clients, the event watcher and reconcile. Construct before `engine.load()`: it indexes
 * merchants' addresses, bindings and vouchers' deadlines from the store.
 */
export class OnchainPayments implements VoucherHook {
  readonly keys: ChainKeys;
  readonly #engine: Engine;
  readonly #ledger: Ledger;
  readonly #indexes: BridgeIndexes;
  #payments: PaymentsContext | undefined;

  constructor(opts: OnchainOptions) {
    this.#engine = opts.engine;
    this.#ledger = opts.ledger;
    this.keys = new ChainKeys(opts.engine);
    this.#indexes = new BridgeIndexes(opts.engine);
  }

  /** The facade hands over the payment context once built (void on expiry needs it). */
  attach(ctx: PaymentsContext): void {
    this.#payments = ctx;
  }

  #ctx(): PaymentsContext {
    if (!this.#payments) throw new AgentPayError("INVARIANT_VIOLATION", "the chain bridge is not attached to the payment flow");
    return this.#payments;
  }

  // ---------------------------------------------------------------- keys and bindings

  /** The agent's on-chain address, generating its voucher key if it has none. */
  async agentAddress(agentId: string): Promise<Address> {
    this.#agent(agentId);
    return (await this.keys.ensure(agentId)).address;
  }

  /** Uses a host-held viem Account or ethers Signer as the agent's voucher key (again after each restart). */
  async useSigner(agentId: string, signer: HostSigner): Promise<ChainKeyInfo> {
    this.#agent(agentId);
    return this.keys.useSigner(agentId, signer);
  }

  #agent(agentId: string): void {
    validateId(agentId, "agt", "agentId");
    if (!this.#engine.read(`ag/${agentId}`)) throw new AgentPayError("AGENT_NOT_FOUND", "no such agent", { agentId });
  }

  /**
   * Binds a sub-wallet to the agent's bucket (owner, agent key, token) of one settlement deployment.
   * The sub-wallet's account becomes the mirror of that bucket: it must be empty, with no holds.
   */
  async bind(input: BindSubWalletInput): Promise<ChainBinding> {
    const parsed = parseBindInput(input);
    this.#agent(parsed.agentId);
    const key = await this.keys.ensure(parsed.agentId);
    return bindSubWallet(this.#engine, this.#ledger, parsed, key);
  }

  binding(subWalletId: string): ChainBinding | undefined {
    return this.#engine.read<ChainBinding>(bindingKey(validateId(subWalletId, "sw", "subWalletId")));
  }

  bindings(filter: { chainId?: number; settlement?: Address } = {}): ChainBinding[] {
    const s = filter.settlement?.toLowerCase();
    return [...this.#indexes.bindings.values()].filter((b) => (filter.chainId === undefined || b.chainId === filter.chainId) && (s === undefined || b.settlement === s));
  }

  /** The signed voucher of an authorized on-chain payment (what the agent hands the merchant with the token). */
  voucher(paymentId: string): SignedVoucher | undefined {
    return this.#engine.read<SignedVoucher>(voucherKey(validateId(paymentId, "pay", "paymentId")));
  }

  /** Payments matched to a voucher digest. */
  paymentIdOf(digest: Hex): string | undefined {
    return this.#engine.read<string>(digestKey(digest));
  }

  anomalies(): ChainAnomaly[] {
    return [...this.#engine.scan<ChainAnomaly>(ANOMALY_PREFIX)].map(([, a]) => a).sort((a, b) => a.atMs - b.atMs);
  }

  // ---------------------------------------------------------------- the payment flow's hook

  /** Outside the authorizing command: for an on-chain payment, builds and signs its voucher. */
  prepare(input: VoucherRequest): Promise<PreparedVoucher | undefined> {
    return prepareVoucher(this.#engine, this.keys, this.#indexes, input);
  }

  /** Inside the authorizing command: records the voucher with the hold. */
  recordIn(tx: Tx, p: Payment, sw: SubWallet, prepared: PreparedVoucher | undefined): PaymentChainInfo | undefined {
    return recordVoucherIn(tx, p, sw, prepared);
  }

  // ---------------------------------------------------------------- clients and watchers

  /** A settlement client for a deployment (writes need a walletClient). */
  client(opts: SettlementClientOptions): SettlementClient {
    return new SettlementClient(opts);
  }

  /** The event handler that maps a deployment's events into the ledger (see watcher()). */
  handler(chainId: number, settlement: Address): LogHandler {
    return new EventMapper({
      ledger: this.#ledger, indexes: this.#indexes, chainId, settlement: checkAddress(settlement, "settlement"),
      voidIn: (tx, paymentId, reason) => voidIn(tx, this.#ctx(), paymentId, reason),
    });
  }

  /** A watcher applying a deployment's events to the ledger; call poll()/catchUp() or start(). */
  async watcher(opts: CreateWatcherOptions): Promise<ChainWatcher> {
    const chainId = opts.chainId ?? await opts.publicClient.getChainId();
    const { settlement, chainId: _c, ...rest } = opts;
    return new ChainWatcher({ ...rest, engine: this.#engine, address: settlement, chainId, handler: this.handler(chainId, settlement) });
  }

  /**
   * Compares the escrow's balances with the ledger's mirrors (see `reconcile`). Reads at the watcher's
   * cursor (the block the ledger reflects) unless `blockNumber` is given.
   */
  reconcile(opts: ReconcileOptions): Promise<ReconcileReport> {
    return reconcile(this.#engine, this.#indexes, opts);
  }
}
