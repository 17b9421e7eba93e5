// The settlement client: typed calls to AgentPaySettlement through viem, every revert decoded into an
// AgentPayError (errors.ts). Writes are simulated first (so a refusal costs no gas and names its
// reason), then sent and awaited; a mined failure is CHAIN_TX_FAILED.
import { erc20Abi, zeroAddress } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { AgentPayError } from "../core/index.ts";
import { agentPaySettlementAbi } from "./abi.ts";
import { decodeChainError } from "./errors.ts";
import { checkAddress, encodeBatch, encodeCompact, encodeEntry, isCompactEntry, settlementDomain } from "./voucher.ts";
import type { Entry, SettlementDomain, Voucher } from "./voucher.ts";

export interface SettlementClientOptions {
  publicClient: PublicClient<Transport, Chain | undefined>;
  /** Needed for writes; its account sends them. */
  walletClient?: WalletClient<Transport, Chain | undefined, Account | undefined>;
  /** Overrides the wallet client's account. */
  account?: Account | Address;
  /** The AgentPaySettlement deployment. */
  address: Address;
  /** Receipts to wait for (default 1). */
  confirmations?: number;
  /**
   * Send whole-cap redemptions through `redeemCompact` (default true). Turn it off for a wallet that
   * appends bytes to calldata (attribution suffixes): `redeemCompact` takes an exact length.
   */
  compact?: boolean;
}

/** A mined transaction and the value the call returned (from the simulation). */
export interface TxResult<R = unknown> {
  readonly hash: Hex;
  readonly blockNumber: bigint;
  readonly gasUsed: bigint;
  readonly result: R;
}

export interface Bucket {
  readonly balance: bigint;
  readonly frozen: boolean;
}

type Fn = (typeof agentPaySettlementAbi)[number] extends infer T ? T extends { type: "function"; name: infer N } ? N : never : never;

/** Every method that returns a promise is async: bad arguments reject, never throw synchronously. */
export class SettlementClient {
  readonly address: Address;
  readonly publicClient: PublicClient<Transport, Chain | undefined>;
  readonly walletClient: WalletClient<Transport, Chain | undefined, Account | undefined> | undefined;
  readonly #account: Account | Address | undefined;
  readonly #confirmations: number;
  #domain: Promise<SettlementDomain> | undefined;

  readonly #compact: boolean;

  constructor(opts: SettlementClientOptions) {
    if (opts === null || typeof opts !== "object" || !opts.publicClient) throw new AgentPayError("INVALID_INPUT", "a publicClient is required", { field: "publicClient" });
    this.address = checkAddress(opts.address, "address");
    this.publicClient = opts.publicClient;
    this.walletClient = opts.walletClient;
    this.#account = opts.account ?? opts.walletClient?.account;
    this.#confirmations = opts.confirmations ?? 1;
    if (opts.compact !== undefined && typeof opts.compact !== "boolean") throw new AgentPayError("INVALID_INPUT", "compact must be a boolean", { field: "compact" });
    this.#compact = opts.compact ?? true;
    if (!Number.isSafeInteger(this.#confirmations) || this.#confirmations < 1 || this.#confirmations > 64) {
      throw new AgentPayError("INVALID_INPUT", "confirmations must be 1-64", { field: "confirmations" });
    }
  }

  /** The account writes are sent from. */
  get accountAddress(): Address | undefined {
    const a = this.#account;
    return a === undefined ? undefined : ((typeof a === "string" ? a : a.address).toLowerCase() as Address);
  }

  async chainId(): Promise<number> {
    try {
      return await this.publicClient.getChainId();
    } catch (e) {
      throw decodeChainError(e);
    }
  }

  /** The EIP-712 domain of this deployment (cached). */
  domain(): Promise<SettlementDomain> {
    this.#domain ??= this.chainId().then((id) => settlementDomain(id, this.address));
    this.#domain.catch(() => (this.#domain = undefined));
    return this.#domain;
  }

  async #read<R>(functionName: Fn, args: readonly unknown[]): Promise<R> {
    try {
      return (await this.publicClient.readContract({ address: this.address, abi: agentPaySettlementAbi, functionName, args } as never)) as R;
    } catch (e) {
      throw decodeChainError(e);
    }
  }

  async #write<R>(
    functionName: string, args: readonly unknown[], abi: readonly unknown[] = agentPaySettlementAbi, address: Address = this.address, dataSuffix?: Hex,
  ): Promise<TxResult<R>> {
    const wallet = this.walletClient;
    const account = this.#account;
    if (!wallet || !account) throw new AgentPayError("CHAIN_NO_WALLET", "writes need a walletClient with an account", { functionName });
    let request: unknown;
    let result: unknown;
    try {
      ({ request, result } = await this.publicClient.simulateContract({
        address, abi, functionName, args, account, chain: wallet.chain, ...(dataSuffix !== undefined ? { dataSuffix } : {}),
      } as never) as { request: unknown; result: unknown });
    } catch (e) {
      throw decodeChainError(e);
    }
    let hash: Hex;
    try {
      hash = await wallet.writeContract(request as never);
    } catch (e) {
      throw decodeChainError(e);
    }
    let receipt;
    try {
      receipt = await this.publicClient.waitForTransactionReceipt({ hash, confirmations: this.#confirmations });
    } catch (e) {
      throw decodeChainError(e);
    }
    if (receipt.status !== "success") throw new AgentPayError("CHAIN_TX_FAILED", "the transaction was mined but failed", { hash, functionName });
    return { hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, result: result as R };
  }

  // ------------------------------------------------------------ the owner

  /** ERC-20 approve of the escrow (as spender) by the sender: needed before deposits. */
  async approveToken(token: Address, amount: bigint): Promise<TxResult<boolean>> {
    return this.#write("approve", [this.address, amount], erc20Abi, checkAddress(token, "token"));
  }

  /** Deposits into the sender's (sender, agent) bucket; agent omitted or zero: the main bucket. */
  async deposit(token: Address, agent: Address | undefined, amount: bigint): Promise<TxResult<bigint>> {
    return this.#write("deposit", [checkAddress(token, "token"), agent === undefined ? zeroAddress : checkAddress(agent, "agent"), amount]);
  }

  /** Main bucket → the agent's bucket. */
  async allocate(token: Address, agent: Address, amount: bigint): Promise<TxResult<void>> {
    return this.#write("allocate", [checkAddress(token, "token"), checkAddress(agent, "agent"), amount]);
  }

  /** Schedules moving `amount` from the agent's bucket back to main after WITHDRAWAL_DELAY (0 cancels). */
  async scheduleRelease(token: Address, agent: Address, amount: bigint): Promise<TxResult<void>> {
    return this.#write("scheduleRelease", [checkAddress(token, "token"), checkAddress(agent, "agent"), amount]);
  }

  async release(token: Address, agent: Address): Promise<TxResult<bigint>> {
    return this.#write("release", [checkAddress(token, "token"), checkAddress(agent, "agent")]);
  }

  /** Main bucket → `to`. */
  async withdraw(token: Address, amount: bigint, to: Address): Promise<TxResult<void>> {
    return this.#write("withdraw", [checkAddress(token, "token"), amount, checkAddress(to, "to")]);
  }

  async setFrozen(agent: Address, tokens: readonly Address[], frozen: boolean): Promise<TxResult<void>> {
    return this.#write("setFrozen", [checkAddress(agent, "agent"), tokens.map((t) => checkAddress(t, "token")), frozen]);
  }

  /**
   * Cancels voucher nonces, by their signer only: sent by the agent, agent nonces (at once; refused while
   * any of its buckets is frozen); sent by the owner, owner nonces whose voucher is not inside its
   * redemption window. All or nothing.
   */
  async cancel(owner: Address, agent: Address, nonces: readonly bigint[]): Promise<TxResult<void>> {
    return this.#write("cancel", [checkAddress(owner, "owner"), checkAddress(agent, "agent"), [...nonces]]);
  }

  // ------------------------------------------------------------ the merchant

  /**
   * Redeems one voucher (credited to the sender's internal balance): through `redeemCompact` (the
   * cheapest calldata) when the voucher is redeemed for its whole cap with a 65-byte signature, else
   * through `redeem` (partial amounts, longer ERC-1271 signatures). Same checks, effects and event.
   */
  async redeem(entry: Entry): Promise<TxResult<bigint>> {
    if (this.#compact && isCompactEntry(entry)) return this.#write("redeemCompact", [], agentPaySettlementAbi, this.address, encodeCompact(entry));
    return this.#write("redeem", [entry.voucher.token, encodeEntry(entry)]);
  }

  /** Redeems one voucher and transfers the tokens to the sender at once. */
  async redeemAndPay(entry: Entry): Promise<TxResult<bigint>> {
    return this.#write("redeemAndPay", [entry.voucher.token, encodeEntry(entry)]);
  }

  /** Redeems many vouchers of one token for the sender: all or nothing. */
  async redeemBatch(entries: readonly Entry[], opts: { payout?: boolean } = {}): Promise<TxResult<{ total: bigint; count: bigint }>> {
    const token = entries[0]?.voucher.token;
    if (!token || entries.some((e) => e.voucher.token.toLowerCase() !== token.toLowerCase())) {
      throw new AgentPayError("INVALID_INPUT", "a batch needs one or more vouchers of one token", { field: "entries" });
    }
    const r = await this.#write<readonly [bigint, bigint]>("redeemBatch", [token, opts.payout === true, encodeBatch(entries)]);
    return { ...r, result: { total: r.result[0], count: r.result[1] } };
  }

  /** Redeems a call voucher: `amount` goes into `voucher.callTarget` with `callData`. */
  async redeemAndCall(voucher: Voucher, amount: bigint, callData: Hex, signature: Hex): Promise<TxResult<{ spent: bigint; result: Hex }>> {
    const r = await this.#write<readonly [bigint, Hex]>("redeemAndCall", [voucher, amount, callData, signature]);
    return { ...r, result: { spent: r.result[0], result: r.result[1] } };
  }

  /** Refunds into the owner's main bucket, from the sender's credit (default) or its wallet. */
  async refund(voucher: Voucher, amount: bigint, signature: Hex, opts: { fromCredit?: boolean } = {}): Promise<TxResult<bigint>> {
    return this.#write("refund", [voucher, amount, opts.fromCredit !== false, signature]);
  }

  async withdrawCredit(token: Address, amount: bigint, to: Address): Promise<TxResult<void>> {
    return this.#write("withdrawCredit", [checkAddress(token, "token"), amount, checkAddress(to, "to")]);
  }

  // ------------------------------------------------------------ views

  async bucketOf(owner: Address, agent: Address, token: Address, opts: { blockNumber?: bigint } = {}): Promise<Bucket> {
    const args = [checkAddress(owner, "owner"), checkAddress(agent, "agent"), checkAddress(token, "token")];
    try {
      const [balance, frozen] = (await this.publicClient.readContract({
        address: this.address, abi: agentPaySettlementAbi, functionName: "bucketOf", args, ...(opts.blockNumber !== undefined ? { blockNumber: opts.blockNumber } : {}),
      } as never)) as readonly [bigint, boolean];
      return { balance, frozen };
    } catch (e) {
      throw decodeChainError(e);
    }
  }

  async creditOf(merchant: Address, token: Address, opts: { blockNumber?: bigint } = {}): Promise<bigint> {
    try {
      return (await this.publicClient.readContract({
        address: this.address, abi: agentPaySettlementAbi, functionName: "creditOf",
        args: [checkAddress(merchant, "merchant"), checkAddress(token, "token")], ...(opts.blockNumber !== undefined ? { blockNumber: opts.blockNumber } : {}),
      } as never)) as bigint;
    } catch (e) {
      throw decodeChainError(e);
    }
  }

  /** How many of the agent's buckets the owner has frozen (its key cancels nothing while non-zero). */
  async frozenBucketsOf(owner: Address, agent: Address): Promise<bigint> {
    return this.#read<bigint>("frozenBucketsOf", [checkAddress(owner, "owner"), checkAddress(agent, "agent")]);
  }

  /** 0 unused · 1 cancelled · 2 redeemed for the cap · 3 redeemed for less. */
  async nonceState(owner: Address, agent: Address, nonce: bigint): Promise<number> {
    return this.#read<number>("nonceState", [checkAddress(owner, "owner"), checkAddress(agent, "agent"), nonce]);
  }

  async redemptionOf(owner: Address, agent: Address, nonce: bigint): Promise<{ partialAmount: bigint; refunded: bigint }> {
    const [partialAmount, refunded] = await this.#read<readonly [bigint, bigint]>("redemptionOf", [checkAddress(owner, "owner"), checkAddress(agent, "agent"), nonce]);
    return { partialAmount, refunded };
  }

  async pendingRelease(owner: Address, agent: Address, token: Address): Promise<{ amount: bigint; readyAt: bigint }> {
    const [amount, readyAt] = await this.#read<readonly [bigint, bigint]>("pendingRelease", [checkAddress(owner, "owner"), checkAddress(agent, "agent"), checkAddress(token, "token")]);
    return { amount, readyAt };
  }

  /** The contract's own digest of a voucher (to cross-check hashVoucher). */
  async hashVoucher(v: Voucher): Promise<Hex> {
    return this.#read<Hex>("hashVoucher", [v]);
  }

  async maxVoucherLifetime(): Promise<bigint> {
    return this.#read<bigint>("MAX_VOUCHER_LIFETIME", []);
  }

  async withdrawalDelay(): Promise<bigint> {
    return this.#read<bigint>("WITHDRAWAL_DELAY", []);
  }
}
