// Turning AgentPaySettlement events into ledger entries, inside the watcher's command, exactly once
// (the watcher keys each log by chain id, transaction hash and log index, with its cursor in the same
// write); every step is recorded so a reorganisation can undo it with compensating entries.
//
// Ledger model, per bound sub-wallet (owner, agent, token, chainId, settlement):
//   the sub-wallet's account  = the on-chain agent bucket (bucketOf(owner, agent, token)); holds are
//                               the off-chain shadow of outstanding vouchers;
//   `chm:<hash>` (main mirror) = the owner's main bucket (bucketOf(owner, 0, token));
//   `chx:<hash>` (external)    = the world outside the escrow for that token (wallets, other owners);
//   the merchant's payout account in the asset = its on-chain credit (creditOf(merchant, token)).
import type { Address } from "viem";
import { zeroAddress } from "viem";
import { AgentPayError, isAgentPayError, newId } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { createTransfer, postPending } from "../ledger/index.ts";
import type { Ledger } from "../ledger/index.ts";
import { payoutAccountIn } from "../merchants/index.ts";
import { nextRiskSeqIn } from "../risk/index.ts";
import { emitPaymentEvent, paymentKey, refundKey } from "../payments/index.ts";
import type { Payment, Refund, VoidReason } from "../payments/index.ts";
import { getSubWalletIn, recordSpendIn, restoreSpendIn } from "../wallets/index.ts";
import { bucketIdOf } from "../chain/index.ts";
import type { ChainHead, ChainLog, LogHandler, SignedVoucher } from "../chain/index.ts";
import type { BridgeIndexes } from "./indexes.ts";
import { ANOMALY_PREFIX, bindingKey, bucketIdKey, bucketIndexKey, digestKey, nonceIndexKey, toHex32, voucherKey } from "./records.ts";
import type { BucketParts, ChainAnomaly, ChainBinding } from "./records.ts";

/** One step of what applying a log did, so a reorg can undo it. */
type Step =
  | { k: "tr"; id: string; d: string; c: string; minor: bigint; cur: string }
  | { k: "capture"; paymentId: string; capturedMinor: bigint; prev: Payment; debit: string; credit: string }
  | { k: "late"; paymentId: string; prev: Payment }
  | { k: "refund"; paymentId: string; prev: Payment; refundId: string; minor: bigint }
  | { k: "void"; paymentId: string; prev: Payment }
  | { k: "anomaly"; id: string };

/** Releases an authorized payment's hold inside the caller's command (the payment flow's void). */
export type VoidInFn = (tx: Tx, paymentId: string, reason: VoidReason) => Payment;

/** Maps one deployment's events into the ledger: the LogHandler a ChainWatcher drives. */
export class EventMapper implements LogHandler {
  readonly #ledger: Ledger;
  readonly #indexes: BridgeIndexes;
  readonly #voidIn: VoidInFn;
  readonly #chainId: number;
  readonly #settlement: Address;

  constructor(opts: { ledger: Ledger; indexes: BridgeIndexes; voidIn: VoidInFn; chainId: number; settlement: Address }) {
    this.#ledger = opts.ledger;
    this.#indexes = opts.indexes;
    this.#voidIn = opts.voidIn;
    this.#chainId = opts.chainId;
    this.#settlement = opts.settlement;
  }

  apply(tx: Tx, log: ChainLog): unknown {
    return this.#apply(tx, this.#chainId, this.#settlement, log);
  }

  revert(tx: Tx, log: ChainLog, undo: unknown): void {
    this.#revert(tx, log, undo as Step[] | undefined);
  }

  onHead(tx: Tx, head: ChainHead): void {
    this.#onHead(tx, this.#chainId, this.#settlement, head);
  }

  #bucket(tx: Tx, chainId: number, settlement: Address, owner: unknown, agent: unknown, token: unknown): ChainBinding | undefined {
    const swId = tx.get<string>(bucketIndexKey(chainId, settlement, String(owner), String(agent), String(token)));
    return swId ? tx.get<ChainBinding>(bindingKey(swId)) : undefined;
  }



  #merchantPayout(tx: Tx, merchant: unknown, currency: string): string | undefined {
    const id = typeof merchant === "string" ? this.#indexes.merchantsByAddress.get(merchant) : undefined;
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
        const into = a.agent === zeroAddress ? this.#indexes.ownerBinding(chainId, settlement, a.owner, a.token) : this.#bucket(tx, chainId, settlement, a.owner, a.agent, a.token);
        if (!into) return undefined;
        const to = a.agent === zeroAddress ? into.mainAccountId : this.#swAccount(tx, into);
        this.#move(tx, steps, log, into.externalAccountId, to, amount, into.currency, "chain_deposit");
        break;
      }
      case "Allocated":
      case "Released": {
        if (log.eventName === "Allocated") this.#learnBucket(tx, chainId, settlement, a);
        const owner = this.#indexes.ownerBinding(chainId, settlement, a.owner, a.token);
        if (!owner) return undefined;
        const b = this.#bucket(tx, chainId, settlement, a.owner, a.agent, a.token);
        const agentSide = b ? this.#swAccount(tx, b) : owner.externalAccountId;
        if (log.eventName === "Allocated") this.#move(tx, steps, log, owner.mainAccountId, agentSide, amount, owner.currency, "chain_allocate");
        else this.#move(tx, steps, log, agentSide, owner.mainAccountId, amount, owner.currency, "chain_release");
        break;
      }
      case "Withdrawn": {
        const owner = this.#indexes.ownerBinding(chainId, settlement, a.owner, a.token);
        if (!owner) return undefined;
        this.#move(tx, steps, log, owner.mainAccountId, owner.externalAccountId, amount, owner.currency, "chain_withdraw");
        break;
      }
      case "Redeemed": {
        // The event names the bucket by id: owner, agent and token come from the voucher (by digest), the
        // binding or the funding events seen earlier.
        const parts = this.#bucketParts(tx, chainId, settlement, String(a.digest), String(a.bucket));
        if (parts) this.#redeemed(tx, steps, chainId, settlement, { ...log, args: { ...a, ...parts } });
        else if (typeof a.merchant === "string" && this.#indexes.merchantsByAddress.has(a.merchant)) {
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
        const tb = this.#indexes.tokenBinding(chainId, settlement, a.token);
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
    const swId = this.#indexes.bindingsByBucket.get(`${chainId}/${settlement}/${id}`);
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
    const tb = b ?? this.#indexes.tokenBinding(chainId, settlement, a.token);
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
    const tb = this.#indexes.tokenBinding(chainId, settlement, a.token);
    if (!tb) return;
    const payout = this.#merchantPayout(tx, a.merchant, tb.currency);
    const owner = this.#indexes.ownerBinding(chainId, settlement, a.owner, a.token);
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
    this.#voidIn(tx, p.id, as === "expired" ? "expired" : "chain");
    steps.push({ k: "void", paymentId: p.id, prev: p });
  }

  /** The confirmed chain time passed a voucher's deadline: it can never be redeemed, release its hold. */
  #onHead(tx: Tx, chainId: number, settlement: Address, head: ChainHead): void {
    const now = Number(head.timestamp);
    const keep: Array<{ key: number; value: string }> = [];
    let n = 0;
    while (n < 500) {
      const top = this.#indexes.deadlines.peek();
      if (!top || top.key >= now) break;
      this.#indexes.deadlines.pop();
      const p = tx.get<Payment>(paymentKey(top.value));
      if (!p || p.status !== "authorized" || !p.chain) continue;
      if (p.chain.chainId !== chainId || p.chain.settlement !== settlement) {
        keep.push(top);
        continue;
      }
      this.#voidIn(tx, p.id, "expired");
      n++;
    }
    for (const k of keep) this.#indexes.deadlines.push(k.key, k.value);
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
