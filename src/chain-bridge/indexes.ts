// In-memory indexes the bridge derives from committed records (rebuilt on every open by the
// engine's observers, so they are never stored and never disagree with the store).
import { MinHeap } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import type { Merchant } from "../merchants/index.ts";
import { PAYMENT_PREFIX } from "../payments/index.ts";
import type { Payment } from "../payments/index.ts";
import { bucketIdOf } from "../chain/index.ts";
import type { Address } from "viem";
import { BINDING_PREFIX, NONCE_INDEX_PREFIX, SEQUENTIAL_NONCE_LIMIT } from "./records.ts";
import type { ChainBinding } from "./records.ts";

export class BridgeIndexes {
  /** A chain merchant's redeeming address → its merchant id. */
  readonly merchantsByAddress = new Map<string, string>();
  /** Sub-wallet id → its binding. */
  readonly bindings = new Map<string, ChainBinding>();
  /** `${chainId}/${settlement}/${bucketId}` → sub-wallet id of its binding. */
  readonly bindingsByBucket = new Map<string, string>();
  /** Authorized on-chain payments by voucher deadline (Unix seconds): released once the chain's time passes it. */
  readonly deadlines = new MinHeap<string>();
  /**
   * Next voucher nonce per bucket. Sequential nonces share the contract's nonce-bitmap words
   * (one storage word per 128 nonces), so a redemption writes an already-used word: ~48k gas
   * instead of ~65k for a fresh word. Reserved synchronously before signing, so concurrent
   * authorizations never share one; recovered from the committed nonce index on load (a nonce
   * reserved by a payment that never committed may be reused: that voucher was never handed out).
   */
  readonly #nextNonce = new Map<string, bigint>();

  /** Registers the observers; call before `engine.load()`. */
  constructor(engine: Engine) {
    engine.observe("mc/", (_k, _b, after) => {
      const m = after as Merchant | undefined;
      if (m?.settlement === "chain" && m.chainAddress && !this.merchantsByAddress.has(m.chainAddress)) this.merchantsByAddress.set(m.chainAddress, m.id);
    });
    engine.observe(NONCE_INDEX_PREFIX, (key, _b, after) => {
      if (after === undefined) return;
      const cut = key.lastIndexOf("/");
      const nonce = BigInt(key.slice(cut + 1));
      const bucket = key.slice(NONCE_INDEX_PREFIX.length, cut);
      if (nonce < SEQUENTIAL_NONCE_LIMIT && nonce >= (this.#nextNonce.get(bucket) ?? 1n)) this.#nextNonce.set(bucket, nonce + 1n);
    });
    engine.observe(BINDING_PREFIX, (_k, _b, after) => {
      const b = after as ChainBinding | undefined;
      if (b) {
        this.bindings.set(b.subWalletId, b);
        this.bindingsByBucket.set(`${b.chainId}/${b.settlement}/${bucketIdOf(b.owner, b.agent, b.token)}`, b.subWalletId);
      }
    });
    engine.observe(PAYMENT_PREFIX, (_k, before, after) => {
      const p = after as Payment | undefined;
      if (p?.chain && p.status === "authorized" && (before as Payment | undefined)?.status !== "authorized") this.deadlines.push(p.chain.deadline, p.id);
    });
  }

  /** The next sequential nonce of a binding's bucket, reserved (never handed out twice in this process). */
  reserveNonce(b: ChainBinding): bigint {
    const bucket = `${b.chainId}/${b.settlement}/${b.owner}/${b.agent}`;
    const n = this.#nextNonce.get(bucket) ?? 1n;
    this.#nextNonce.set(bucket, n + 1n);
    return n;
  }

  /** Any binding of this (owner, token) on a deployment: its main mirror exists. */
  ownerBinding(chainId: number, settlement: Address, owner: unknown, token: unknown): ChainBinding | undefined {
    for (const b of this.bindings.values()) {
      if (b.chainId === chainId && b.settlement === settlement && b.owner === owner && b.token === token) return b;
    }
    return undefined;
  }

  /** Any binding of this token on a deployment: its external account exists. */
  tokenBinding(chainId: number, settlement: Address, token: unknown): ChainBinding | undefined {
    for (const b of this.bindings.values()) if (b.chainId === chainId && b.settlement === settlement && b.token === token) return b;
    return undefined;
  }
}
