// `agentpay chain deploy | reconcile`: the settlement contract from a terminal.
import { Command } from "commander";
import { ctxOf, UsageError } from "../context.ts";
import { fields, print, spin, status } from "../output.ts";

export function chainCommand(): Command {
  const c = new Command("chain").description("on-chain settlement: deploy the contract, reconcile it with the ledger");
  c.command("deploy").description("deploy AgentPaySettlement to an EVM chain (AGENTPAY_RPC_URL and AGENTPAY_DEPLOYER_KEY from the environment)")
    .option("--max-voucher-lifetime <seconds>", "", "86400").option("--withdrawal-delay <seconds>", "", "86400").action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      const rpcUrl = process.env.AGENTPAY_RPC_URL;
      const key = process.env.AGENTPAY_DEPLOYER_KEY;
      if (!rpcUrl) throw new UsageError("set AGENTPAY_RPC_URL (the chain's JSON-RPC endpoint)");
      if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) throw new UsageError("set AGENTPAY_DEPLOYER_KEY to a 0x-prefixed 32-byte hex private key");
      for (const v of [o.maxVoucherLifetime, o.withdrawalDelay]) if (!/^\d{1,10}$/.test(v)) throw new UsageError("durations are whole seconds");
      const { createPublicClient, createWalletClient, http } = await import("viem");
      const { privateKeyToAccount } = await import("viem/accounts");
      const { deploySettlementContract } = await import("../../chain-bridge/index.ts");
      const publicClient = createPublicClient({ transport: http(rpcUrl) });
      const id = await publicClient.getChainId();
      const chain = { id, name: `chain-${id}`, nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } };
      const walletClient = createWalletClient({ account: privateKeyToAccount(key as `0x${string}`), chain, transport: http(rpcUrl) });
      const d = await spin(ctx.out, "deploying", () => deploySettlementContract({
        publicClient: publicClient as never, walletClient: walletClient as never,
        maxVoucherLifetimeSec: BigInt(o.maxVoucherLifetime), withdrawalDelaySec: BigInt(o.withdrawalDelay),
      }));
      print(ctx.out, d, () => `${status("ok")} deployed on chain ${id}\n${fields(d as unknown as Record<string, unknown>)}`);
    });
  c.command("reconcile").description("compare the escrow's balances with the ledger (the server must run with --chain)")
    .requiredOption("--settlement <address>").option("--rpc-url <url>", "default AGENTPAY_RPC_URL").option("--block <n>").action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      const rpcUrl = o.rpcUrl ?? process.env.AGENTPAY_RPC_URL;
      if (!rpcUrl) throw new UsageError("give --rpc-url or set AGENTPAY_RPC_URL");
      const r = await spin(ctx.out, "reconciling", () => ctx.admin().chain.reconcile({ rpcUrl, settlement: o.settlement, ...(o.block ? { blockNumber: String(o.block) } : {}) }));
      print(ctx.out, r, () => `${status(r.ok ? "ok" : "declined")} ${r.ok ? "both sides agree" : `${r.differences.length} difference(s)`} (${r.checked} checked at block ${r.blockNumber})`);
      if (!r.ok) process.exitCode = 1;
    });
  return c;
}
