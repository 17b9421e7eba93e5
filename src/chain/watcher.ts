// A generic, reorg-safe contract event watcher. It reads a contract's events from a start block with
// N confirmations and applies each log exactly once (keyed by chain id, transaction hash and log
// index) inside ONE engine command together with its cursor, so a crash or restart never loses or
// repeats one. It keeps the hashes of recent blocks; when the chain under its cursor changed (a reorg
// deeper than its confirmations) it finds the last common block, reverts the logs of the orphaned
// blocks in reverse order through the handler (compensating entries), and applies the new chain, all
// in the same command.
import type { Abi, Address, Chain, Hex, PublicClient, Transport } from "viem";
import { AgentPayError, every, isAgentPayError } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import { agentPaySettlementAbi } from "./abi.ts";
import { decodeChainError } from "./errors.ts";
import { checkAddress } from "./voucher.ts";

/** One decoded log, as stored and as handed to the handler. Addresses in lower case. */
export interface ChainLog {
  readonly chainId: number;
  readonly address: Address;
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
  readonly txHash: Hex;
  readonly logIndex: number;
  readonly eventName: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** The confirmed head a poll advanced to. */
export interface ChainHead {
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
  /** Unix seconds. */
  readonly timestamp: bigint;
}

/**
 * What the watcher calls inside its command. Both must be deterministic and throw only on a real
 * fault: a throw discards the whole poll (nothing is committed) and the next poll retries.
 */
export interface LogHandler {
  /** Applies one log; returns what `revert` needs to undo it (JSON with bigints), or undefined. */
  apply(tx: Tx, log: ChainLog): unknown;
  /** Undoes `apply` with compensating entries (a reorg orphaned the log's block). */
  revert(tx: Tx, log: ChainLog, undo: unknown): void;
  /** After a poll's logs: the confirmed head moved here. */
  onHead?(tx: Tx, head: ChainHead): void;
}

export interface ChainWatcherOptions {
  engine: Engine;
  publicClient: PublicClient<Transport, Chain | undefined>;
  /** The contract whose events to read. */
  address: Address;
  /** Its ABI (events are decoded with it). Default: AgentPaySettlement. */
  abi?: Abi;
  /** The chain id the watcher is for: a client on another chain is refused (CHAIN_WATCHER_MISMATCH). */
  chainId: number;
  /** First block to read (inclusive). Ignored once the watcher has a stored cursor. */
  fromBlock: bigint;
  /** Blocks a log must be buried under before it is applied. Default 2. */
  confirmations?: number;
  /** Most blocks read per poll. Default 2,000. */
  maxBlocksPerPoll?: number;
  /** How many recent block hashes to keep for reorg detection (the deepest recoverable reorg). Default 256. */
  reorgWindow?: number;
  handler: LogHandler;
  /** Stored under this id (default `<chainId>:<address>`). */
  id?: string;
}

interface WatcherState {
  readonly id: string;
  readonly chainId: number;
  readonly address: Address;
  readonly fromBlock: bigint;
  /** Last block fully applied (fromBlock - 1 before the first poll). */
  readonly cursor: bigint;
  /** Block hash records below this were pruned: a reorg reaching below it is unrecoverable. */
  readonly prunedBelow?: bigint;
  readonly reorgs: number;
  readonly applied: number;
  readonly reverted: number;
}

interface AppliedLog {
  readonly log: ChainLog;
  readonly undo?: unknown;
  readonly appliedAtMs: number;
}

export interface PollResult {
  /** The last block now applied. */
  readonly cursor: bigint;
  readonly applied: number;
  readonly reverted: number;
  /** Set when a reorg was detected and recovered: the last block both chains share. */
  readonly reorg?: { readonly commonAncestor: bigint; readonly depth: bigint };
}

export interface WatcherStatus {
  readonly id: string;
  readonly chainId: number;
  readonly address: Address;
  readonly cursor: bigint;
  readonly reorgs: number;
  readonly applied: number;
  readonly reverted: number;
  readonly lastError?: { readonly code: string; readonly message: string };
}

export const WATCHER_PREFIX = "cw/";
const stateKey = (id: string): string => `cw/${id}`;
const blockKey = (id: string, n: bigint): string => `cwb/${id}/${n.toString().padStart(20, "0")}`;
const logKey = (id: string, chainId: number, txHash: string, logIndex: number): string => `cwl/${id}/${chainId}:${txHash}:${logIndex}`;

const ID_RE = /^[A-Za-z0-9:._-]{1,100}$/;

function cmpLog(a: ChainLog, b: ChainLog): number {
  return a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;
}

function normalise(v: unknown): unknown {
  if (typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)) return v.toLowerCase();
  if (Array.isArray(v)) return v.map(normalise);
  return v;
}

export class ChainWatcher {
  readonly id: string;
  readonly chainId: number;
  readonly address: Address;
  readonly confirmations: number;
  readonly #engine: Engine;
  readonly #client: PublicClient<Transport, Chain | undefined>;
  readonly #abi: Abi;
  readonly #fromBlock: bigint;
  readonly #maxBlocks: bigint;
  readonly #window: bigint;
  readonly #handler: LogHandler;
  /** Recent applied logs (by block), for rollback; and recent block hashes. Rebuilt from the store. */
  #recent: ChainLog[] = [];
  #hashes = new Map<bigint, Hex>();
  #busy: Promise<PollResult> | undefined;
  #stop: (() => void) | undefined;
  #lastError: AgentPayError | undefined;

  constructor(opts: ChainWatcherOptions) {
    if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "watcher options must be an object");
    this.address = checkAddress(opts.address, "address");
    if (!Number.isSafeInteger(opts.chainId) || opts.chainId <= 0) throw new AgentPayError("INVALID_INPUT", "chainId must be a positive integer", { field: "chainId" });
    this.chainId = opts.chainId;
    if (typeof opts.fromBlock !== "bigint" || opts.fromBlock < 0n) throw new AgentPayError("INVALID_INPUT", "fromBlock must be a non-negative bigint", { field: "fromBlock" });
    this.confirmations = opts.confirmations ?? 2;
    if (!Number.isSafeInteger(this.confirmations) || this.confirmations < 0 || this.confirmations > 1_000) {
      throw new AgentPayError("INVALID_INPUT", "confirmations must be 0-1000", { field: "confirmations" });
    }
    const maxBlocks = opts.maxBlocksPerPoll ?? 2_000;
    const window = opts.reorgWindow ?? 256;
    if (!Number.isSafeInteger(maxBlocks) || maxBlocks < 1 || maxBlocks > 100_000) throw new AgentPayError("INVALID_INPUT", "maxBlocksPerPoll must be 1-100000", { field: "maxBlocksPerPoll" });
    if (!Number.isSafeInteger(window) || window < 1 || window > 100_000) throw new AgentPayError("INVALID_INPUT", "reorgWindow must be 1-100000", { field: "reorgWindow" });
    if (!opts.handler || typeof opts.handler.apply !== "function" || typeof opts.handler.revert !== "function") {
      throw new AgentPayError("INVALID_INPUT", "handler must have apply and revert", { field: "handler" });
    }
    this.id = opts.id ?? `${this.chainId}:${this.address}`;
    if (!ID_RE.test(this.id)) throw new AgentPayError("INVALID_INPUT", "id must be 1-100 of A-Z a-z 0-9 : . _ -", { field: "id" });
    this.#engine = opts.engine;
    this.#client = opts.publicClient;
    this.#abi = opts.abi ?? (agentPaySettlementAbi as unknown as Abi);
    this.#fromBlock = opts.fromBlock;
    this.#maxBlocks = BigInt(maxBlocks);
    this.#window = BigInt(window);
    this.#handler = opts.handler;
    const st = this.#engine.read<WatcherState>(stateKey(this.id));
    if (st && (st.chainId !== this.chainId || st.address !== this.address)) {
      throw new AgentPayError("CHAIN_WATCHER_MISMATCH", "a watcher with this id follows another chain or contract", { id: this.id });
    }
    // Rebuild the in-memory window from the store (once, at construction).
    for (const [k, rec] of this.#engine.scan<{ hash: Hex }>(`cwb/${this.id}/`)) this.#hashes.set(BigInt(k.slice(k.lastIndexOf("/") + 1)), rec.hash);
    const floor = (st?.cursor ?? 0n) - this.#window;
    for (const [, rec] of this.#engine.scan<AppliedLog>(`cwl/${this.id}/`)) if (rec.log.blockNumber > floor) this.#recent.push(rec.log);
    this.#recent.sort(cmpLog);
  }

  #state(): WatcherState {
    return this.#engine.read<WatcherState>(stateKey(this.id)) ?? {
      id: this.id, chainId: this.chainId, address: this.address, fromBlock: this.#fromBlock, cursor: this.#fromBlock - 1n,
      reorgs: 0, applied: 0, reverted: 0,
    };
  }

  status(): WatcherStatus {
    const s = this.#state();
    return {
      id: s.id, chainId: s.chainId, address: s.address, cursor: s.cursor, reorgs: s.reorgs, applied: s.applied, reverted: s.reverted,
      ...(this.#lastError ? { lastError: { code: this.#lastError.code, message: this.#lastError.message } } : {}),
    };
  }

  /** Reads and applies what is newly confirmed (at most maxBlocksPerPoll blocks). One poll at a time. */
  poll(): Promise<PollResult> {
    if (this.#busy) return this.#busy;
    const p = this.#poll().then(
      (r) => { this.#lastError = undefined; return r; },
      (e) => { this.#lastError = isAgentPayError(e) ? e : decodeChainError(e); throw this.#lastError; },
    ).finally(() => (this.#busy = undefined));
    this.#busy = p;
    return p;
  }

  /** Polls until the confirmed head is reached (bounded by `maxPolls`). */
  async catchUp(maxPolls = 100): Promise<PollResult> {
    if (!Number.isSafeInteger(maxPolls) || maxPolls < 1) throw new AgentPayError("INVALID_INPUT", "maxPolls must be a positive integer", { field: "maxPolls" });
    let total = { applied: 0, reverted: 0 };
    let last: PollResult | undefined;
    for (let i = 0; i < maxPolls; i++) {
      last = await this.poll();
      total = { applied: total.applied + last.applied, reverted: total.reverted + last.reverted };
      const head = await this.#rpc(() => this.#client.getBlockNumber());
      if (last.cursor >= head - BigInt(this.confirmations)) break;
    }
    return { ...last!, ...total };
  }

  /** Polls every `intervalMs` in the background (errors are kept in status().lastError). */
  start(intervalMs = 4_000): void {
    this.stop();
    this.#stop = every(intervalMs, () => this.poll());
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  async #rpc<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      throw decodeChainError(e);
    }
  }

  async #blockHash(n: bigint): Promise<{ hash: Hex; timestamp: bigint } | undefined> {
    const b = await this.#rpc(() => this.#client.getBlock({ blockNumber: n })).catch((e) => {
      if (isAgentPayError(e, "CHAIN_RPC_FAILED") && /not found|could not be found/i.test(e.message)) return undefined;
      throw e;
    });
    return b && b.hash ? { hash: b.hash, timestamp: b.timestamp } : undefined;
  }

  /** The last block both the stored window and the chain agree on, or undefined when nothing changed. */
  async #findAncestor(st: WatcherState): Promise<bigint | undefined> {
    const known = [...this.#hashes.keys()].filter((n) => n <= st.cursor).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    if (known.length === 0) return undefined;
    const top = await this.#blockHash(known[0]!);
    if (top && top.hash === this.#hashes.get(known[0]!)) return undefined;
    for (const n of known.slice(1)) {
      const b = await this.#blockHash(n);
      if (b && b.hash === this.#hashes.get(n)) return n;
    }
    if (st.prunedBelow === undefined) return st.fromBlock - 1n; // the window reaches the start: roll everything back
    throw new AgentPayError("CHAIN_REORG_TOO_DEEP", "the chain changed below the watcher's reorg window", {
      id: this.id, oldestKnownBlock: known[known.length - 1]!, cursor: st.cursor,
    });
  }

  async #poll(): Promise<PollResult> {
    const chainId = await this.#rpc(() => this.#client.getChainId());
    if (chainId !== this.chainId) throw new AgentPayError("CHAIN_WATCHER_MISMATCH", "the client is on another chain", { expected: this.chainId, actual: chainId });
    const st = this.#state();
    const ancestor = await this.#findAncestor(st);
    const base = ancestor ?? st.cursor;
    const head = await this.#rpc(() => this.#client.getBlockNumber());
    const safe = head - BigInt(this.confirmations);
    const from = base + 1n;
    const to = safe < base + this.#maxBlocks ? safe : base + this.#maxBlocks;
    let logs: ChainLog[] = [];
    let headBlock: ChainHead | undefined;
    if (to >= from) {
      const raw = await this.#rpc(() => this.#client.getContractEvents({ address: this.address, abi: this.#abi, fromBlock: from, toBlock: to, strict: true }));
      logs = (raw as unknown as Array<{ blockNumber: bigint; blockHash: Hex; transactionHash: Hex; logIndex: number; eventName: string; args: Record<string, unknown>; removed?: boolean }>)
        .filter((l) => !l.removed)
        .map((l) => ({
          chainId, address: this.address, blockNumber: l.blockNumber, blockHash: l.blockHash, txHash: l.transactionHash,
          logIndex: l.logIndex, eventName: l.eventName,
          args: Object.fromEntries(Object.entries(l.args ?? {}).map(([k, v]) => [k, normalise(v)])),
        }))
        .sort(cmpLog);
      // The logs and the head must come from one chain: re-read each block's hash and compare.
      const hashes = new Map<bigint, Hex>();
      for (const n of new Set([...logs.map((l) => l.blockNumber), to])) {
        const b = await this.#blockHash(n);
        if (!b) throw new AgentPayError("CHAIN_RPC_FAILED", "a block vanished while reading (reorg in progress); retry", { blockNumber: n });
        hashes.set(n, b.hash);
        if (n === to) headBlock = { blockNumber: to, blockHash: b.hash, timestamp: b.timestamp };
      }
      for (const l of logs) {
        if (hashes.get(l.blockNumber) !== l.blockHash) {
          throw new AgentPayError("CHAIN_RPC_FAILED", "the chain changed while reading (reorg in progress); retry", { blockNumber: l.blockNumber });
        }
      }
    }
    if (ancestor === undefined && !headBlock) return { cursor: st.cursor, applied: 0, reverted: 0 };

    const orphaned = ancestor === undefined ? [] : this.#recent.filter((l) => l.blockNumber > ancestor).reverse();
    const window = this.#window;
    const result = await this.#engine.submit((tx) => {
      const cur = tx.get<WatcherState>(stateKey(this.id)) ?? st;
      if (cur.cursor !== st.cursor) throw new AgentPayError("CHAIN_WATCHER_MISMATCH", "another poll moved the cursor; retry", { id: this.id });
      let reverted = 0;
      for (const log of orphaned) {
        const k = logKey(this.id, log.chainId, log.txHash, log.logIndex);
        const rec = tx.get<AppliedLog>(k);
        if (!rec) continue;
        this.#handler.revert(tx, rec.log, rec.undo);
        tx.del(k);
        reverted++;
      }
      if (ancestor !== undefined) for (const n of this.#hashes.keys()) if (n > ancestor) tx.del(blockKey(this.id, n));
      let applied = 0;
      const appliedLogs: ChainLog[] = [];
      for (const log of logs) {
        const k = logKey(this.id, log.chainId, log.txHash, log.logIndex);
        if (tx.has(k)) continue; // exactly once
        const undo = this.#handler.apply(tx, log);
        tx.put(k, { log, ...(undo !== undefined ? { undo } : {}), appliedAtMs: tx.nowMs } satisfies AppliedLog);
        tx.put(blockKey(this.id, log.blockNumber), { hash: log.blockHash });
        appliedLogs.push(log);
        applied++;
      }
      let cursor = base;
      let prunedBelow = cur.prunedBelow;
      const pruned: bigint[] = [];
      if (headBlock) {
        cursor = headBlock.blockNumber;
        tx.put(blockKey(this.id, cursor), { hash: headBlock.blockHash });
        this.#handler.onHead?.(tx, headBlock);
        const known = new Set([...this.#hashes.keys()].filter((n) => ancestor === undefined || n <= ancestor));
        for (const l of appliedLogs) known.add(l.blockNumber);
        for (const n of known) {
          if (n < cursor - window) {
            tx.del(blockKey(this.id, n));
            pruned.push(n);
            if (prunedBelow === undefined || n + 1n > prunedBelow) prunedBelow = n + 1n;
          }
        }
      }
      const next: WatcherState = {
        ...cur, cursor, reorgs: cur.reorgs + (ancestor !== undefined ? 1 : 0), applied: cur.applied + applied, reverted: cur.reverted + reverted,
        ...(prunedBelow !== undefined ? { prunedBelow } : {}),
      };
      tx.put(stateKey(this.id), next);
      return { applied, reverted, cursor, appliedLogs, pruned };
    });
    // The command committed: bring the in-memory window in line with what is stored.
    if (ancestor !== undefined) {
      this.#recent = this.#recent.filter((l) => l.blockNumber <= ancestor);
      for (const n of [...this.#hashes.keys()]) if (n > ancestor) this.#hashes.delete(n);
    }
    for (const l of result.appliedLogs) {
      this.#recent.push(l);
      this.#hashes.set(l.blockNumber, l.blockHash);
    }
    if (headBlock) this.#hashes.set(headBlock.blockNumber, headBlock.blockHash);
    for (const n of result.pruned) this.#hashes.delete(n);
    const floor = result.cursor - window;
    this.#recent = this.#recent.filter((l) => l.blockNumber > floor);
    return {
      cursor: result.cursor, applied: result.applied, reverted: result.reverted,
      ...(ancestor !== undefined ? { reorg: { commonAncestor: ancestor, depth: st.cursor - ancestor } } : {}),
    };
  }
}
