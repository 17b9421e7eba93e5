// The chain bridge's payment side: binding sub-wallets to on-chain agent buckets, minting the voucher
// twinned with a payment's token, turning AgentPaySettlement events into ledger entries (exactly once,
// through a ChainWatcher, with compensating entries on a reorg), and reconciling both sides.
//
// Ledger model, per bound sub-wallet (owner, agent, token, chainId, settlement):
//   the sub-wallet's account  = the on-chain agent bucket (bucketOf(owner, agent, token)); holds are
//                               the off-chain shadow of outstanding vouchers;
//   `chm:<hash>` (main mirror) = the owner's main bucket (bucketOf(owner, 0, token));
//   `chx:<hash>` (external)    = the world outside the escrow for that token (wallets, other owners);
//   the merchant's payout account in the asset = its on-chain credit (creditOf(merchant, token)).
import { createHash } from "node:crypto";
import type { Address, Chain, Hex, PublicClient, Transport } from "viem";
import { zeroAddress } from "viem";
import { AgentPayError, MinHeap, isAgentPayError, newId, validateId } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import { createAccount, createTransfer, getAccount, postPending, accountKey } from "../ledger/index.ts";
import type { Ledger } from "../ledger/index.ts";
import { merchantKey, payoutAccountIn } from "../merchants/index.ts";
import { nextRiskSeqIn } from "../risk/index.ts";
import type { Merchant } from "../merchants/index.ts";
import { getSubWalletIn, recordSpendIn, restoreSpendIn, subWalletKey } from "../wallets/index.ts";
import type { SubWallet } from "../wallets/index.ts";
import {
  ChainKeys, ChainWatcher, SettlementClient, bucketIdOf, buildVoucher, checkAddress, hashVoucher, settlementDomain, voucherRefOf,
} from "../chain/index.ts";
import type {
  ChainHead, ChainKeyInfo, ChainLog, ChainWatcherOptions, HostSigner, LogHandler, SettlementClientOptions, SignedVoucher,
} from "../chain/index.ts";
import { emitPaymentEvent } from "./effects.ts";
import { PAYMENT_PREFIX, paymentKey, refundKey } from "./records.ts";
import type { Payment, PaymentChainInfo, Refund } from "./records.ts";
export type { PaymentChainInfo };
import { voidIn } from "./void.ts";
import type { PaymentsContext } from "./context.ts";

type Client = PublicClient<Transport, Chain | undefined>;

/** A sub-wallet bound to an on-chain agent bucket. Immutable once made. */
export interface ChainBinding {
  readonly subWalletId: string;
  readonly walletId: string;
  /** The agentpay agent whose voucher key signs for this bucket. */
  readonly agentId: string;
  readonly owner: Address;
  /** The agent's address on-chain (its voucher key). */
  readonly agent: Address;
  readonly token: Address;
  readonly chainId: number;
  readonly settlement: Address;
  /** The sub-wallet's currency: the asset the token is (e.g. "USDC", registered with its decimals). */
  readonly currency: string;
  /** Mirror of the owner's main bucket. */
  readonly mainAccountId: string;
  /** The world outside the escrow for this token. */
  readonly externalAccountId: string;
  readonly createdAtMs: number;
}

export interface BindSubWalletInput {
  subWallet: string;
  /** The agent (agt_…) whose voucher key signs: generated and kept by agentpay unless useSigner gave one. */
  agent: string;
  /** The owner's address (the person's account that deposits into the escrow). */
  owner: Address;
  /** The ERC-20 the sub-wallet's currency is. */
  token: Address;
  chainId: number;
  settlement: Address;
}


/** Built and signed outside the engine, recorded by the authorizing command. */
export interface PreparedVoucher extends SignedVoucher {
  readonly subWalletId: string;
  readonly agentId: string;
}

/** The part of the voucher machinery the payment flow calls before its command. */
export interface VoucherPreparer {
  prepare(input: {
    paymentId: string; agentId: string; subWalletId: string; merchantId: string; amountMinor: bigint; currency: string;
    reference?: string; expiresAtMs: number;
  }): Promise<PreparedVoucher | undefined>;
}

/** Something the watcher could not map cleanly: recorded, never thrown, shown by reconcile. */
export interface ChainAnomaly {
  readonly id: string;
  readonly kind:
    | "unmatched_redemption" | "late_capture" | "insufficient_mirror" | "duplicate_redemption" | "external_redemption"
    | "call_redemption" | "unmatched_refund";
  readonly log: { chainId: number; txHash: Hex; logIndex: number; blockNumber: bigint; eventName: string };
  readonly detail: Readonly<Record<string, string | bigint | number | boolean>>;
  readonly atMs: number;
}

export interface ReconcileDifference {
  readonly kind: "agent_bucket" | "main_bucket" | "merchant_credit";
  readonly chainId: number;
  readonly settlement: Address;
  readonly token: Address;
  readonly currency: string;
  /** Ledger account compared. */
  readonly accountId: string;
  readonly subWalletId?: string;
  readonly merchantId?: string;
  readonly owner?: Address;
  readonly agent?: Address;
  readonly merchant?: Address;
  readonly onChainMinor: bigint;
  readonly ledgerMinor: bigint;
  /** onChain − ledger. */
  readonly diffMinor: bigint;
}

export interface ReconcileReport {
  readonly ok: boolean;
  readonly chainId: number;
  readonly settlement: Address;
  /** The block the balances were read at (the watcher's cursor by default). */
  readonly blockNumber: bigint;
  readonly checked: number;
  readonly differences: readonly ReconcileDifference[];
}

export const BINDING_PREFIX = "cb/";
export const bindingKey = (subWalletId: string): string => `cb/${subWalletId}`;
const bucketIndexKey = (chainId: number, settlement: string, owner: string, agent: string, token: string): string =>
  `cbk/${chainId}/${settlement}/${owner}/${agent}/${token}`;
export const voucherKey = (paymentId: string): string => `cv/${paymentId}`;
/** Bucket id (the Redeemed event's `bucket` topic) → its owner, agent and token, learned from Deposited/Allocated. */
const bucketIdKey = (chainId: number, settlement: string, bucketId: string): string => `cbi/${chainId}/${settlement}/${bucketId.toLowerCase()}`;
interface BucketParts { owner: Address; agent: Address; token: Address }
export const digestKey = (digest: string): string => `cd/${digest.toLowerCase()}`;
/** Nonces below this are sequential (allocated by the library); above, hash-derived ones. */
const SEQUENTIAL_NONCE_LIMIT = 1n << 64n;
const nonceIndexKey = (chainId: number, settlement: string, owner: string, agent: string, nonce: Hex): string =>
  `cn/${chainId}/${settlement}/${owner}/${agent}/${nonce}`;
export const ANOMALY_PREFIX = "cx/";

function hashId(prefix: string, ...parts: Array<string | number>): string {
  return `${prefix}:${createHash("sha256").update(parts.join("|")).digest("base64url").slice(0, 32)}`;
}
export const mainAccountIdOf = (chainId: number, settlement: string, owner: string, token: string): string =>
  hashId("chm", chainId, settlement.toLowerCase(), owner.toLowerCase(), token.toLowerCase());
export const externalAccountIdOf = (chainId: number, settlement: string, token: string): string =>
  hashId("chx", chainId, settlement.toLowerCase(), token.toLowerCase());

const toHex32 = (n: bigint): Hex => `0x${n.toString(16).padStart(64, "0")}` as Hex;

/** One step of what applying a log did, so a reorg can undo it. */
type Step =
  | { k: "tr"; id: string; d: string; c: string; minor: bigint; cur: string }
  | { k: "capture"; paymentId: string; capturedMinor: bigint; prev: Payment; debit: string; credit: string }
  | { k: "late"; paymentId: string; prev: Payment }
  | { k: "refund"; paymentId: string; prev: Payment; refundId: string; minor: bigint }
  | { k: "void"; paymentId: string; prev: Payment }
  | { k: "anomaly"; id: string };

export interface OnchainOptions {
  engine: Engine;
  ledger: Ledger;
  keys: ChainKeys;
}

export interface CreateWatcherOptions extends Omit<ChainWatcherOptions, "engine" | "handler" | "address" | "chainId"> {
  settlement: Address;
  /** Default: the client's chain id. */
  chainId?: number;
}

/**
 * The chain bridge of the payment flow (the facade exposes it as `pay.chain`). Construct before
 * `engine.load()`: it indexes merchants' addresses and vouchers' deadlines from the store.
 */
export class OnchainPayments implements VoucherPreparer {
  readonly keys: ChainKeys;
  readonly #engine: Engine;
  readonly #ledger: Ledger;
  #payments: PaymentsContext | undefined;
  readonly #merchantsByAddress = new Map<string, string>();
  readonly #bindings = new Map<string, ChainBinding>();
  /** `${chainId}/${settlement}/${bucketId}` → sub-wallet id of its binding. */
  readonly #bindingsByBucket = new Map<string, string>();
  readonly #deadlines = new MinHeap<string>();

  /**
   * Next voucher nonce per bucket. Sequential nonces share the contract's nonce-bitmap words
   * (one storage word per 128 nonces), so a redemption writes an already-used word: ~48k gas
   * instead of ~65k for a fresh word. Reserved synchronously before signing, so concurrent
   * authorizations never share one; recovered from the committed nonce index on load (a nonce
   * reserved by a payment that never committed may be reused: that voucher was never handed out).
   */
  readonly #nextNonce = new Map<string, bigint>();

  constructor(opts: OnchainOptions) {
    this.#engine = opts.engine;
    this.#ledger = opts.ledger;
    this.keys = opts.keys;
    opts.engine.observe("mc/", (_k, _b, after) => {
      const m = after as Merchant | undefined;
      if (m?.settlement === "chain" && m.chainAddress && !this.#merchantsByAddress.has(m.chainAddress)) this.#merchantsByAddress.set(m.chainAddress, m.id);
    });
    opts.engine.observe("cn/", (key, _b, after) => {
      if (after === undefined) return;
      const cut = key.lastIndexOf("/");
      const nonce = BigInt(key.slice(cut + 1));
      const bucket = key.slice(3, cut);
      if (nonce < SEQUENTIAL_NONCE_LIMIT && nonce >= (this.#nextNonce.get(bucket) ?? 1n)) this.#nextNonce.set(bucket, nonce + 1n);
    });
    opts.engine.observe(BINDING_PREFIX, (_k, _b, after) => {
      const b = after as ChainBinding | undefined;
      if (b) {
        this.#bindings.set(b.subWalletId, b);
        this.#bindingsByBucket.set(`${b.chainId}/${b.settlement}/${bucketIdOf(b.owner, b.agent, b.token)}`, b.subWalletId);
      }
    });
    opts.engine.observe(PAYMENT_PREFIX, (_k, before, after) => {
      const p = after as (Payment) | undefined;
      if (p?.chain && p.status === "authorized" && (before as Payment | undefined)?.status !== "authorized") this.#deadlines.push(p.chain.deadline, p.id);
    });
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
    validateId(agentId, "agt", "agent");
    if (!this.#engine.read(`ag/${agentId}`)) throw new AgentPayError("AGENT_NOT_FOUND", "no such agent", { agentId });
  }

  /**
   * Binds a sub-wallet to the agent's bucket (owner, agent key, token) of one settlement deployment.
   * The sub-wallet's account becomes the mirror of that bucket: it must be empty, with no holds.
   */
  async bind(input: BindSubWalletInput): Promise<ChainBinding> {
    if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "bind input must be an object");
    const subWalletId = validateId(input.subWallet, "sw", "subWallet");
    const agentId = validateId(input.agent, "agt", "agent");
    const owner = checkAddress(input.owner, "owner");
    const token = checkAddress(input.token, "token");
    const settlement = checkAddress(input.settlement, "settlement");
    settlementDomain(input.chainId, settlement);
    if (owner === zeroAddress || token === zeroAddress) throw new AgentPayError("INVALID_INPUT", "owner and token may not be the zero address", { field: "owner" });
    this.#agent(agentId);
    const key = await this.keys.ensure(agentId);
    return this.#engine.submit((tx) => {
      const sw = getSubWalletIn(tx, subWalletId);
      const prior = tx.get<ChainBinding>(bindingKey(sw.id));
      if (prior) {
        if (prior.agentId === agentId && prior.owner === owner && prior.token === token && prior.chainId === input.chainId && prior.settlement === settlement) return prior;
        throw new AgentPayError("CHAIN_ALREADY_BOUND", "the sub-wallet is bound to another bucket", { subWalletId: sw.id });
      }
      if (sw.status !== "active") throw new AgentPayError("SUBWALLET_FROZEN", `the sub-wallet is ${sw.status}`, { subWalletId: sw.id });
      const bk = bucketIndexKey(input.chainId, settlement, owner, key.address, token);
      if (tx.has(bk)) throw new AgentPayError("CHAIN_ALREADY_BOUND", "that bucket is bound to another sub-wallet", { subWalletId: tx.get<string>(bk) });
      const acct = getAccount(tx, sw.accountId);
      if (acct.debitsPending !== 0n || acct.creditsPending !== 0n || acct.creditsPosted !== acct.debitsPosted) {
        throw new AgentPayError("INVALID_INPUT", "only an empty sub-wallet (no balance, no holds) can mirror an on-chain bucket", { subWalletId: sw.id });
      }
      const b: ChainBinding = {
        subWalletId: sw.id, walletId: sw.walletId, agentId, owner, agent: key.address, token, chainId: input.chainId, settlement,
        currency: sw.currency, mainAccountId: mainAccountIdOf(input.chainId, settlement, owner, token),
        externalAccountId: externalAccountIdOf(input.chainId, settlement, token), createdAtMs: tx.nowMs,
      };
      const meta = { chainId: String(b.chainId), settlement, token };
      createAccount(tx, this.#ledger.context, { id: b.mainAccountId, currency: b.currency, code: "chain_main_bucket", metadata: { ...meta, owner } });
      createAccount(tx, this.#ledger.context, { id: b.externalAccountId, currency: b.currency, code: "chain_external", metadata: meta });
      tx.put(bindingKey(sw.id), b);
      tx.put(bk, sw.id);
      return b;
    });
  }

  binding(subWalletId: string): ChainBinding | undefined {
    return this.#engine.read<ChainBinding>(bindingKey(validateId(subWalletId, "sw", "subWallet")));
  }

  bindings(filter: { chainId?: number; settlement?: Address } = {}): ChainBinding[] {
    const s = filter.settlement?.toLowerCase();
    return [...this.#bindings.values()].filter((b) => (filter.chainId === undefined || b.chainId === filter.chainId) && (s === undefined || b.settlement === s));
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

  // ---------------------------------------------------------------- authorize: the voucher twin

  /** Outside the authorizing command: for an on-chain payment, builds and signs its voucher. */
  async prepare(input: Parameters<VoucherPreparer["prepare"]>[0]): Promise<PreparedVoucher | undefined> {
    const merchant = this.#engine.read<Merchant>(merchantKey(input.merchantId));
    const b = this.#engine.read<ChainBinding>(bindingKey(input.subWalletId));
    if (!merchant || merchant.settlement !== "chain") {
      if (b) throw new AgentPayError("CHAIN_SETTLEMENT_REQUIRED", "this sub-wallet mirrors an on-chain bucket: it pays on-chain merchants only", { subWalletId: input.subWalletId, merchantId: input.merchantId });
      return undefined;
    }
    if (!b) throw new AgentPayError("CHAIN_NOT_BOUND", "the merchant settles on-chain and the sub-wallet is not bound to a bucket", { subWalletId: input.subWalletId, merchantId: merchant.id });
    if (b.agentId !== input.agentId) throw new AgentPayError("CHAIN_AGENT_MISMATCH", "only the agent bound to the sub-wallet's bucket can pay on-chain", { subWalletId: b.subWalletId, agentId: input.agentId });
    if (input.currency !== b.currency) throw new AgentPayError("CURRENCY_MISMATCH", "the amount's currency differs from the bucket's asset", { currency: input.currency, assetCurrency: b.currency });
    const paymentId = validateId(input.paymentId, "pay", "paymentId");
    const domain = settlementDomain(b.chainId, b.settlement);
    const voucher = buildVoucher({
      owner: b.owner, agent: b.agent, merchant: merchant.chainAddress as Address, token: b.token, cap: input.amountMinor,
      deadline: BigInt(Math.floor(input.expiresAtMs / 1000)), nonce: this.#reserveNonce(b), ref: voucherRefOf(paymentId, input.reference),
    });
    const digest = hashVoucher(domain, voucher);
    const signature = await this.keys.signerFor(b.agentId).signVoucher(domain, voucher);
    return { voucher, digest, signature, chainId: b.chainId, settlement: b.settlement, subWalletId: b.subWalletId, agentId: b.agentId };
  }

  #reserveNonce(b: ChainBinding): bigint {
    const bucket = `${b.chainId}/${b.settlement}/${b.owner}/${b.agent}`;
    const n = this.#nextNonce.get(bucket) ?? 1n;
    this.#nextNonce.set(bucket, n + 1n);
    return n;
  }

  // ---------------------------------------------------------------- clients and watchers

  /** A settlement client for a deployment (writes need a walletClient). */
  client(opts: SettlementClientOptions): SettlementClient {
    return new SettlementClient(opts);
  }

  /** The event handler that maps a deployment's events into the ledger (see watcher()). */
  handler(chainId: number, settlement: Address): LogHandler {
    const s = checkAddress(settlement, "settlement");
    return {
      apply: (tx, log) => this.#apply(tx, chainId, s, log),
      revert: (tx, log, undo) => this.#revert(tx, log, undo as Step[] | undefined),
      onHead: (tx, head) => this.#onHead(tx, chainId, s, head),
    };
  }

  /** A watcher applying a deployment's events to the ledger; call poll()/catchUp() or start(). */
  async watcher(opts: CreateWatcherOptions): Promise<ChainWatcher> {
    const chainId = opts.chainId ?? await opts.publicClient.getChainId();
    const { settlement, chainId: _c, ...rest } = opts;
    return new ChainWatcher({ ...rest, engine: this.#engine, address: settlement, chainId, handler: this.handler(chainId, settlement) });
  }

  // ---------------------------------------------------------------- reconcile

  /**
   * Compares the escrow's balances with the ledger's mirrors: each bound agent bucket with its
   * sub-wallet's posted balance, each owner's main bucket with its mirror, each chain merchant's
   * credit with its payout account. Reads at the watcher's cursor (the block the ledger reflects)
   * unless `blockNumber` is given. `ok` is true and `differences` empty when both sides agree.
   */
  async reconcile(opts: { publicClient: Client; settlement: Address; blockNumber?: bigint; watcherId?: string }): Promise<ReconcileReport> {
    const settlement = checkAddress(opts.settlement, "settlement");
    const client = new SettlementClient({ publicClient: opts.publicClient, address: settlement });
    const chainId = await client.chainId();
    let blockNumber = opts.blockNumber;
    if (blockNumber === undefined) {
      const w = this.#engine.read<{ cursor: bigint }>(`cw/${opts.watcherId ?? `${chainId}:${settlement}`}`);
      blockNumber = w ? w.cursor : await opts.publicClient.getBlockNumber();
    }
    const at = { blockNumber };
    const differences: ReconcileDifference[] = [];
    let checked = 0;
    const bindings = this.bindings({ chainId, settlement });
    const posted = (id: string): bigint => {
      const a = this.#engine.read<{ creditsPosted: bigint; debitsPosted: bigint }>(accountKey(id));
      return a ? a.creditsPosted - a.debitsPosted : 0n;
    };
    const compare = (d: Omit<ReconcileDifference, "diffMinor" | "chainId" | "settlement">): void => {
      checked++;
      if (d.onChainMinor !== d.ledgerMinor) differences.push({ ...d, chainId, settlement, diffMinor: d.onChainMinor - d.ledgerMinor });
    };
    const mains = new Map<string, ChainBinding>();
    const tokens = new Map<string, string>();
    for (const b of bindings) {
      const sw = this.#engine.read<SubWallet>(subWalletKey(b.subWalletId))!;
      const { balance } = await client.bucketOf(b.owner, b.agent, b.token, at);
      compare({ kind: "agent_bucket", token: b.token, currency: b.currency, accountId: sw.accountId, subWalletId: b.subWalletId, owner: b.owner, agent: b.agent, onChainMinor: balance, ledgerMinor: posted(sw.accountId) });
      mains.set(b.mainAccountId, b);
      tokens.set(b.token, b.currency);
    }
    for (const b of mains.values()) {
      const { balance } = await client.bucketOf(b.owner, zeroAddress, b.token, at);
      compare({ kind: "main_bucket", token: b.token, currency: b.currency, accountId: b.mainAccountId, owner: b.owner, onChainMinor: balance, ledgerMinor: posted(b.mainAccountId) });
    }
    for (const [address, merchantId] of this.#merchantsByAddress) {
      const m = this.#engine.read<Merchant>(merchantKey(merchantId))!;
      for (const [token, currency] of tokens) {
        const acct = m.payoutAccounts[currency];
        const credit = await client.creditOf(address as Address, token as Address, at);
        if (!acct && credit === 0n) continue;
        compare({ kind: "merchant_credit", token: token as Address, currency, accountId: acct ?? `pay:${m.id}:${currency}`, merchantId, merchant: address as Address, onChainMinor: credit, ledgerMinor: acct ? posted(acct) : 0n });
      }
    }
    return { ok: differences.length === 0, chainId, settlement, blockNumber, checked, differences };
  }

  // ---------------------------------------------------------------- event mapping (inside the watcher's command)

  #bucket(tx: Tx, chainId: number, settlement: Address, owner: unknown, agent: unknown, token: unknown): ChainBinding | undefined {
    const swId = tx.get<string>(bucketIndexKey(chainId, settlement, String(owner), String(agent), String(token)));
    return swId ? tx.get<ChainBinding>(bindingKey(swId)) : undefined;
  }

  /** Any binding of this (owner, token): its main mirror exists. */
  #ownerBinding(chainId: number, settlement: Address, owner: unknown, token: unknown): ChainBinding | undefined {
    for (const b of this.#bindings.values()) {
      if (b.chainId === chainId && b.settlement === settlement && b.owner === owner && b.token === token) return b;
    }
    return undefined;
  }

  #tokenBinding(chainId: number, settlement: Address, token: unknown): ChainBinding | undefined {
    for (const b of this.#bindings.values()) if (b.chainId === chainId && b.settlement === settlement && b.token === token) return b;
    return undefined;
  }

  #merchantPayout(tx: Tx, merchant: unknown, currency: string): string | undefined {
    const id = typeof merchant === "string" ? this.#merchantsByAddress.get(merchant) : undefined;
    return id ? payoutAccountIn(tx, this.#ledger, id, currency) : undefined;
  }

  #anomaly(tx: Tx, steps: Step[], log: ChainLog, kind: ChainAnomaly["kind"], detail: ChainAnomaly["detail"]): void {
    const id = newId("cxa");
    const a: ChainAnomaly = {
      id, kind, detail, atMs: tx.nowMs,
      log: { chainId: log.chainId, txHash: log.txHash, logIndex: log.logIndex, blockNumber: log.blockNumber, eventName: log.eventName },
    };
    tx.put(`${ANOMALY_PREFIX}${id}`, a);
    steps.push({ k: "anomaly", id });
  }

  /** A posted transfer recorded for undo; a mirror that cannot cover it becomes an anomaly. */
  #move(tx: Tx, steps: Step[], log: ChainLog, d: string, c: string, minor: bigint, cur: string, code: string): boolean {
    if (minor === 0n) return true;
    const id = newId("ctr");
    try {
      createTransfer(tx, this.#ledger.context, {
        id, debitAccountId: d, creditAccountId: c, amount: { minor, currency: cur }, code,
        metadata: { chainId: String(log.chainId), txHash: log.txHash, logIndex: String(log.logIndex) },
      });
    } catch (e) {
      if (isAgentPayError(e, "INSUFFICIENT_FUNDS") || isAgentPayError(e, "LIMIT_EXCEEDED")) {
        this.#anomaly(tx, steps, log, "insufficient_mirror", { accountId: d, amountMinor: minor, code });
        return false;
      }
      throw e;
    }
    steps.push({ k: "tr", id, d, c, minor, cur });
    return true;
  }

  #apply(tx: Tx, chainId: number, settlement: Address, log: ChainLog): Step[] | undefined {
    const a = log.args;
    const amount = (a.amount as bigint | undefined) ?? 0n;
    const steps: Step[] = [];
    switch (log.eventName) {
      case "Deposited": {
        this.#learnBucket(tx, chainId, settlement, a);
        const into = a.agent === zeroAddress ? this.#ownerBinding(chainId, settlement, a.owner, a.token) : this.#bucket(tx, chainId, settlement, a.owner, a.agent, a.token);
        if (!into) return undefined;
        const to = a.agent === zeroAddress ? into.mainAccountId : this.#swAccount(tx, into);
        this.#move(tx, steps, log, into.externalAccountId, to, amount, into.currency, "chain_deposit");
        break;
      }
      case "Allocated":
      case "Released": {
        if (log.eventName === "Allocated") this.#learnBucket(tx, chainId, settlement, a);
        const owner = this.#ownerBinding(chainId, settlement, a.owner, a.token);
        if (!owner) return undefined;
        const b = this.#bucket(tx, chainId, settlement, a.owner, a.agent, a.token);
        const agentSide = b ? this.#swAccount(tx, b) : owner.externalAccountId;
        if (log.eventName === "Allocated") this.#move(tx, steps, log, owner.mainAccountId, agentSide, amount, owner.currency, "chain_allocate");
        else this.#move(tx, steps, log, agentSide, owner.mainAccountId, amount, owner.currency, "chain_release");
        break;
      }
      case "Withdrawn": {
        const owner = this.#ownerBinding(chainId, settlement, a.owner, a.token);
        if (!owner) return undefined;
        this.#move(tx, steps, log, owner.mainAccountId, owner.externalAccountId, amount, owner.currency, "chain_withdraw");
        break;
      }
      case "Redeemed": {
        // The event names the bucket by id: owner, agent and token come from the voucher (by digest), the
        // binding or the funding events seen earlier.
        const parts = this.#bucketParts(tx, chainId, settlement, String(a.digest), String(a.bucket));
        if (parts) this.#redeemed(tx, steps, chainId, settlement, { ...log, args: { ...a, ...parts } });
        else if (typeof a.merchant === "string" && this.#merchantsByAddress.has(a.merchant)) {
          this.#anomaly(tx, steps, log, "external_redemption", { digest: String(a.digest), bucket: String(a.bucket), amountMinor: amount, tokenUnknown: true });
        }
        break;
      }
      case "CallRedeemed":
        this.#redeemed(tx, steps, chainId, settlement, log);
        break;
      case "Refunded":
        this.#refunded(tx, steps, chainId, settlement, log);
        break;
      case "CreditWithdrawn": {
        const tb = this.#tokenBinding(chainId, settlement, a.token);
        if (!tb) return undefined;
        const payout = this.#merchantPayout(tx, a.merchant, tb.currency);
        if (!payout) return undefined;
        this.#move(tx, steps, log, payout, tb.externalAccountId, amount, tb.currency, "chain_credit_withdrawn");
        break;
      }
      case "NonceCancelled": {
        const pid = tx.get<string>(nonceIndexKey(chainId, settlement, String(a.owner), String(a.agent), toHex32(a.nonce as bigint)));
        const p = pid ? tx.get<Payment>(paymentKey(pid)) : undefined;
        if (p?.status === "authorized") this.#void(tx, steps, p, "voided");
        break;
      }
      default:
        return undefined; // ReleaseScheduled, FrozenSet: no money moves
    }
    return steps.length > 0 ? steps : undefined;
  }

  /** Records which (owner, agent, token) an agent bucket id stands for (a hash preimage: true whatever a reorg does). */
  #learnBucket(tx: Tx, chainId: number, settlement: Address, a: Record<string, unknown>): void {
    if (a.agent === zeroAddress || typeof a.owner !== "string" || typeof a.agent !== "string" || typeof a.token !== "string") return;
    const parts = { owner: a.owner, agent: a.agent, token: a.token } as BucketParts;
    const key = bucketIdKey(chainId, settlement, bucketIdOf(parts.owner, parts.agent, parts.token));
    if (!tx.has(key)) tx.put(key, parts);
  }

  /** The owner, agent and token of a redeemed bucket: from our voucher with that digest, our binding, or a funding event. */
  #bucketParts(tx: Tx, chainId: number, settlement: Address, digest: string, bucketId: string): BucketParts | undefined {
    const id = bucketId.toLowerCase();
    const pid = tx.get<string>(digestKey(digest));
    const v = pid ? tx.get<SignedVoucher>(voucherKey(pid)) : undefined;
    if (v && v.chainId === chainId && v.settlement === settlement && bucketIdOf(v.voucher.owner, v.voucher.agent, v.voucher.token) === id) {
      return { owner: v.voucher.owner, agent: v.voucher.agent, token: v.voucher.token };
    }
    const swId = this.#bindingsByBucket.get(`${chainId}/${settlement}/${id}`);
    const b = swId ? tx.get<ChainBinding>(bindingKey(swId)) : undefined;
    if (b) return { owner: b.owner, agent: b.agent, token: b.token };
    return tx.get<BucketParts>(bucketIdKey(chainId, settlement, id));
  }

  #swAccount(tx: Tx, b: ChainBinding): string {
    return getSubWalletIn(tx, b.subWalletId).accountId;
  }

  #redeemed(tx: Tx, steps: Step[], chainId: number, settlement: Address, log: ChainLog): void {
    const a = log.args;
    const amount = a.amount as bigint;
    const b = this.#bucket(tx, chainId, settlement, a.owner, a.agent, a.token);
    const tb = b ?? this.#tokenBinding(chainId, settlement, a.token);
    if (!tb) return;
    const payout = log.eventName === "Redeemed" ? this.#merchantPayout(tx, a.merchant, tb.currency) : undefined;
    const pid = log.eventName === "Redeemed" ? tx.get<string>(digestKey(String(a.digest))) : undefined;
    const p = pid ? tx.get<Payment>(paymentKey(pid)) : undefined;
    if (p && b && p.subWalletId === b.subWalletId) {
      if (p.status === "authorized") return this.#capture(tx, steps, p, amount, log);
      if (p.status === "voided" || p.status === "expired") {
        // The chain is the truth: the voucher was redeemed before its deadline, after the hold was released.
        const sw = getSubWalletIn(tx, p.subWalletId);
        const to = payoutAccountIn(tx, this.#ledger, p.merchantId, p.currency);
        if (!this.#move(tx, steps, log, sw.accountId, to, amount, p.currency, "chain_capture_late")) return;
        recordSpendIn(tx, sw, amount, tx.nowMs);
        const next: Payment = {
          ...p, status: "captured", capturedMinor: amount, capturedAtMs: tx.nowMs, refundedMinor: 0n, captureTransferId: (steps[steps.length - 1] as { id: string }).id,
          seq: { ...p.seq, captured: nextRiskSeqIn(tx) },
        };
        tx.put(paymentKey(p.id), next);
        steps.push({ k: "late", paymentId: p.id, prev: p });
        this.#anomaly(tx, steps, log, "late_capture", { paymentId: p.id, previousStatus: p.status, amountMinor: amount });
        emitPaymentEvent(tx, "payment.captured", next, { toMerchant: true, data: { capturedMinor: amount, onChain: true, late: true } });
        return;
      }
      this.#anomaly(tx, steps, log, "duplicate_redemption", { paymentId: p.id, status: p.status, amountMinor: amount });
      return;
    }
    const from = b ? this.#swAccount(tx, b) : tb.externalAccountId;
    const to = payout ?? tb.externalAccountId;
    if (from === to) return; // neither side is ours
    this.#move(tx, steps, log, from, to, amount, tb.currency, log.eventName === "Redeemed" ? "chain_redemption" : "chain_call_redemption");
    const kind = log.eventName === "CallRedeemed" ? "call_redemption" : b ? "unmatched_redemption" : "external_redemption";
    this.#anomaly(tx, steps, log, kind, { digest: String(a.digest), amountMinor: amount, ...(b ? { subWalletId: b.subWalletId } : {}) });
  }

  /** The matched capture: the hold posted (a partial amount releases the rest), the token used. */
  #capture(tx: Tx, steps: Step[], p: Payment, amount: bigint, log: ChainLog): void {
    const captureId = newId("ccp");
    const hold = postPending(tx, this.#ledger.context, {
      id: captureId, pendingId: p.holdTransferId!, amount: { minor: amount, currency: p.currency }, code: "payment_capture",
      metadata: { paymentId: p.id, chainId: String(log.chainId), txHash: log.txHash, logIndex: String(log.logIndex) },
    });
    const released = p.amountMinor - amount;
    const sw = getSubWalletIn(tx, p.subWalletId);
    if (released > 0n) restoreSpendIn(tx, sw, released, p.authorizedAtMs!);
    const captured: Payment = {
      ...p, status: "captured", capturedMinor: amount, capturedAtMs: tx.nowMs, captureTransferId: captureId, refundedMinor: 0n,
      seq: { ...p.seq, captured: nextRiskSeqIn(tx) },
    };
    tx.put(paymentKey(p.id), captured);
    steps.push({ k: "capture", paymentId: p.id, capturedMinor: amount, prev: p, debit: hold.debitAccountId, credit: hold.creditAccountId });
    emitPaymentEvent(tx, "payment.captured", captured, { toMerchant: true, data: { capturedMinor: amount, onChain: true, txHash: log.txHash } });
  }

  #refunded(tx: Tx, steps: Step[], chainId: number, settlement: Address, log: ChainLog): void {
    const a = log.args;
    const amount = a.amount as bigint;
    const tb = this.#tokenBinding(chainId, settlement, a.token);
    if (!tb) return;
    const payout = this.#merchantPayout(tx, a.merchant, tb.currency);
    const owner = this.#ownerBinding(chainId, settlement, a.owner, a.token);
    const from = payout ?? tb.externalAccountId;
    const to = owner ? owner.mainAccountId : tb.externalAccountId;
    if (from === to) return;
    if (!this.#move(tx, steps, log, from, to, amount, tb.currency, "chain_refund")) return;
    const pid = tx.get<string>(digestKey(String(a.digest)));
    const p = pid ? tx.get<Payment>(paymentKey(pid)) : undefined;
    if (!p || p.status !== "captured") {
      this.#anomaly(tx, steps, log, "unmatched_refund", { digest: String(a.digest), amountMinor: amount });
      return;
    }
    const refundId = newId("rfd");
    const sw = getSubWalletIn(tx, p.subWalletId);
    restoreSpendIn(tx, sw, amount, p.authorizedAtMs!);
    const refund: Refund = {
      id: refundId, paymentId: p.id, merchantId: p.merchantId, amountMinor: amount, currency: p.currency,
      transferId: (steps[steps.length - 1] as { id: string }).id, createdAtMs: tx.nowMs, reason: `on-chain refund ${log.txHash}`,
      seq: nextRiskSeqIn(tx),
    };
    tx.put(refundKey(refundId), refund);
    const next: Payment = { ...p, refundedMinor: (p.refundedMinor ?? 0n) + amount };
    tx.put(paymentKey(p.id), next);
    steps.push({ k: "refund", paymentId: p.id, prev: p, refundId, minor: amount });
    emitPaymentEvent(tx, "payment.refunded", next, { toMerchant: true, data: { refundId, refundMinor: amount, onChain: true } });
  }

  #void(tx: Tx, steps: Step[], p: Payment, as: "voided" | "expired"): void {
    voidIn(tx, this.#ctx(), p.id, as === "expired" ? "expired" : "chain");
    steps.push({ k: "void", paymentId: p.id, prev: p });
  }

  /** The confirmed chain time passed a voucher's deadline: it can never be redeemed, release its hold. */
  #onHead(tx: Tx, chainId: number, settlement: Address, head: ChainHead): void {
    const now = Number(head.timestamp);
    const keep: Array<{ key: number; value: string }> = [];
    let n = 0;
    while (n < 500) {
      const top = this.#deadlines.peek();
      if (!top || top.key >= now) break;
      this.#deadlines.pop();
      const p = tx.get<Payment>(paymentKey(top.value));
      if (!p || p.status !== "authorized" || !p.chain) continue;
      if (p.chain.chainId !== chainId || p.chain.settlement !== settlement) {
        keep.push(top);
        continue;
      }
      voidIn(tx, this.#ctx(), p.id, "expired");
      n++;
    }
    for (const k of keep) this.#deadlines.push(k.key, k.value);
  }

  #revert(tx: Tx, log: ChainLog, steps: Step[] | undefined): void {
    if (!steps) return;
    for (const s of [...steps].reverse()) {
      switch (s.k) {
        case "tr":
          this.#reverse(tx, log, s.c, s.d, s.minor, s.cur);
          break;
        case "anomaly":
          tx.del(`${ANOMALY_PREFIX}${s.id}`);
          break;
        case "capture": {
          // The capture's block is gone: the money goes back and the hold is placed again.
          this.#reverse(tx, log, s.credit, s.debit, s.capturedMinor, s.prev.currency);
          const holdId = newId("chd");
          createTransfer(tx, this.#ledger.context, {
            id: holdId, debitAccountId: s.debit, creditAccountId: s.credit, amount: { minor: s.prev.amountMinor, currency: s.prev.currency },
            pending: true, code: "payment_hold", metadata: { paymentId: s.paymentId, reorg: "1" },
          });
          const released = s.prev.amountMinor - s.capturedMinor;
          if (released > 0n) recordSpendIn(tx, getSubWalletIn(tx, s.prev.subWalletId), released, s.prev.authorizedAtMs!);
          tx.put(paymentKey(s.paymentId), { ...s.prev, holdTransferId: holdId });
          break;
        }
        case "late": {
          const sw = getSubWalletIn(tx, s.prev.subWalletId);
          const cur = tx.get<Payment>(paymentKey(s.paymentId))!;
          restoreSpendIn(tx, sw, cur.capturedMinor ?? 0n, tx.nowMs, true);
          tx.put(paymentKey(s.paymentId), s.prev);
          break;
        }
        case "refund": {
          recordSpendIn(tx, getSubWalletIn(tx, s.prev.subWalletId), s.minor, s.prev.authorizedAtMs!);
          tx.del(refundKey(s.refundId));
          tx.put(paymentKey(s.paymentId), s.prev);
          break;
        }
        case "void": {
          const holdId = newId("chd");
          const sw = getSubWalletIn(tx, s.prev.subWalletId);
          const payout = payoutAccountIn(tx, this.#ledger, s.prev.merchantId, s.prev.currency);
          createTransfer(tx, this.#ledger.context, {
            id: holdId, debitAccountId: sw.accountId, creditAccountId: payout, amount: { minor: s.prev.amountMinor, currency: s.prev.currency },
            pending: true, code: "payment_hold", metadata: { paymentId: s.paymentId, reorg: "1" },
          });
          recordSpendIn(tx, sw, s.prev.amountMinor, s.prev.authorizedAtMs!);
          tx.put(paymentKey(s.paymentId), { ...s.prev, holdTransferId: holdId });
          break;
        }
      }
    }
  }

  /** A compensating transfer (reorg). */
  #reverse(tx: Tx, log: ChainLog, d: string, c: string, minor: bigint, cur: string): void {
    try {
      createTransfer(tx, this.#ledger.context, {
        id: newId("crv"), debitAccountId: d, creditAccountId: c, amount: { minor, currency: cur }, code: "chain_reorg_reversal",
        metadata: { chainId: String(log.chainId), txHash: log.txHash, logIndex: String(log.logIndex) },
      });
    } catch (e) {
      throw new AgentPayError("CHAIN_REORG_CONFLICT", "a reorg cannot be compensated: the mirror no longer covers it", {
        accountId: d, amountMinor: minor, causeCode: isAgentPayError(e) ? e.code : "UNKNOWN", txHash: log.txHash,
      }, { cause: e });
    }
  }
}

/**
 * Inside the authorizing command: records the voucher of an on-chain payment (and its digest and
 * nonce indexes) and returns what the payment record carries; refuses a payment whose binding or
 * merchant changed since the voucher was prepared.
 */
export function voucherIn(tx: Tx, p: Payment, sw: SubWallet, prepared: PreparedVoucher | undefined): PaymentChainInfo | undefined {
  const merchant = tx.get<Merchant>(merchantKey(p.merchantId));
  const b = tx.get<ChainBinding>(bindingKey(sw.id));
  if (!prepared) {
    if (merchant?.settlement === "chain") throw new AgentPayError("CHAIN_NOT_BOUND", "the merchant settles on-chain and the sub-wallet is not bound to a bucket", { subWalletId: sw.id });
    if (b) throw new AgentPayError("CHAIN_SETTLEMENT_REQUIRED", "this sub-wallet mirrors an on-chain bucket: it pays on-chain merchants only", { subWalletId: sw.id });
    return undefined;
  }
  const v = prepared.voucher;
  if (!b || !merchant || b.agent !== v.agent || b.owner !== v.owner || b.token !== v.token || b.chainId !== prepared.chainId
    || b.settlement !== prepared.settlement || merchant.chainAddress !== v.merchant || prepared.subWalletId !== sw.id || v.cap !== p.amountMinor) {
    throw new AgentPayError("INVARIANT_VIOLATION", "the prepared voucher does not match the payment", { paymentId: p.id });
  }
  const nonce = toHex32(v.nonce);
  if (tx.has(nonceIndexKey(b.chainId, b.settlement, b.owner, b.agent, nonce))) {
    throw new AgentPayError("CHAIN_NONCE_IN_USE", "the voucher's nonce is already taken; retry", { paymentId: p.id });
  }
  const stored: SignedVoucher = { voucher: v, digest: prepared.digest, signature: prepared.signature, chainId: prepared.chainId, settlement: prepared.settlement };
  tx.put(voucherKey(p.id), stored);
  tx.put(digestKey(prepared.digest), p.id);
  tx.put(nonceIndexKey(b.chainId, b.settlement, b.owner, b.agent, nonce), p.id);
  return { digest: prepared.digest, deadline: Number(v.deadline), chainId: b.chainId, settlement: b.settlement, nonce };
}

/** The voucher recorded for a payment, inside a command. */
export function storedVoucherIn(tx: Tx, paymentId: string): SignedVoucher | undefined {
  return tx.get<SignedVoucher>(voucherKey(paymentId));
}

