// Binding a sub-wallet to an on-chain agent bucket: the sub-wallet's account becomes its mirror.
import { zeroAddress } from "viem";
import { AgentPayError, validateId } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import { createAccount, getAccount } from "../ledger/index.ts";
import type { Ledger } from "../ledger/index.ts";
import { getSubWalletIn } from "../wallets/index.ts";
import { checkAddress, settlementDomain } from "../chain/index.ts";
import type { ChainKeyInfo } from "../chain/index.ts";
import { bindingKey, bucketIndexKey, externalAccountIdOf, mainAccountIdOf } from "./records.ts";
import type { BindSubWalletInput, ChainBinding } from "./records.ts";

/** The input, checked before the agent's key is made or read (nothing changes on bad input). */
export function parseBindInput(input: BindSubWalletInput): BindSubWalletInput {
  if (input === null || typeof input !== "object") throw new AgentPayError("INVALID_INPUT", "bind input must be an object");
  const subWalletId = validateId(input.subWalletId, "sw", "subWalletId");
  const agentId = validateId(input.agentId, "agt", "agentId");
  const owner = checkAddress(input.owner, "owner");
  const token = checkAddress(input.token, "token");
  const settlement = checkAddress(input.settlement, "settlement");
  settlementDomain(input.chainId, settlement);
  if (owner === zeroAddress || token === zeroAddress) throw new AgentPayError("INVALID_INPUT", "owner and token may not be the zero address", { field: "owner" });
  return { subWalletId, agentId, owner, token, settlement, chainId: input.chainId };
}

/** One command: the binding, its bucket index and the two mirror accounts, or nothing. */
export function bindSubWallet(engine: Engine, ledger: Ledger, input: BindSubWalletInput, key: ChainKeyInfo): Promise<ChainBinding> {
  const { subWalletId, agentId, owner, token, settlement, chainId } = input;
  return engine.submit((tx) => {
    const sw = getSubWalletIn(tx, subWalletId);
    const prior = tx.get<ChainBinding>(bindingKey(sw.id));
    if (prior) {
      if (prior.agentId === agentId && prior.owner === owner && prior.token === token && prior.chainId === chainId && prior.settlement === settlement) return prior;
      throw new AgentPayError("CHAIN_ALREADY_BOUND", "the sub-wallet is bound to another bucket", { subWalletId: sw.id });
    }
    if (sw.status !== "active") throw new AgentPayError("SUBWALLET_FROZEN", `the sub-wallet is ${sw.status}`, { subWalletId: sw.id });
    const bk = bucketIndexKey(chainId, settlement, owner, key.address, token);
    if (tx.has(bk)) throw new AgentPayError("CHAIN_ALREADY_BOUND", "that bucket is bound to another sub-wallet", { subWalletId: tx.get<string>(bk) });
    const acct = getAccount(tx, sw.accountId);
    if (acct.debitsPending !== 0n || acct.creditsPending !== 0n || acct.creditsPosted !== acct.debitsPosted) {
      throw new AgentPayError("INVALID_INPUT", "only an empty sub-wallet (no balance, no holds) can mirror an on-chain bucket", { subWalletId: sw.id });
    }
    const b: ChainBinding = {
      subWalletId: sw.id, walletId: sw.walletId, agentId, owner, agent: key.address, token, chainId, settlement,
      currency: sw.currency, mainAccountId: mainAccountIdOf(chainId, settlement, owner, token),
      externalAccountId: externalAccountIdOf(chainId, settlement, token), createdAtMs: tx.nowMs,
    };
    const meta = { chainId: String(b.chainId), settlement, token };
    createAccount(tx, ledger.context, { id: b.mainAccountId, currency: b.currency, code: "chain_main_bucket", metadata: { ...meta, owner } });
    createAccount(tx, ledger.context, { id: b.externalAccountId, currency: b.currency, code: "chain_external", metadata: meta });
    tx.put(bindingKey(sw.id), b);
    tx.put(bk, sw.id);
    return b;
  });
}
