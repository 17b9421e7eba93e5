// Deploys AgentPaySettlement and writes the addresses to a JSON file.
//
//   npm run deploy                       in-process Hardhat network (also deploys a test stablecoin)
//   AGENTPAY_RPC_URL=https://… AGENTPAY_DEPLOYER_KEY=0x… npm run deploy
//                                        any EVM chain; the key comes from the environment only
//
// Other settings (environment): AGENTPAY_DEPLOY_OUT (default deployments/<chainId>.json),
// AGENTPAY_MAX_VOUCHER_LIFETIME and AGENTPAY_WITHDRAWAL_DELAY (seconds, default 86400 each).
// The RPC URL and the key are never printed or written (a URL may carry an API key).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, http } from "viem";
import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deploySettlementContract } from "../src/chain/index.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface DeployResult {
  chainId: number;
  network: "hardhat-inprocess" | "rpc";
  settlement: Address;
  executor: Address;
  deployer: Address;
  deployBlock: string;
  txHash: string;
  maxVoucherLifetimeSec: string;
  withdrawalDelaySec: string;
  /** In-process only: a 6-decimal test stablecoin. */
  testToken?: Address;
  deployedAt: string;
}

function seconds(name: string, fallback: bigint): bigint {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  if (!/^\d{1,10}$/.test(v)) throw new Error(`${name} must be a number of seconds`);
  return BigInt(v);
}

export async function deploy(env: NodeJS.ProcessEnv = process.env): Promise<{ result: DeployResult; out: string }> {
  const lifetime = seconds("AGENTPAY_MAX_VOUCHER_LIFETIME", 86_400n);
  const delay = seconds("AGENTPAY_WITHDRAWAL_DELAY", lifetime > 86_400n ? lifetime : 86_400n);
  let publicClient: PublicClient<Transport, Chain | undefined>;
  let walletClient: WalletClient<Transport, Chain | undefined, Account | undefined>;
  let testToken: Address | undefined;
  const rpcUrl = env.AGENTPAY_RPC_URL;
  if (rpcUrl) {
    const key = env.AGENTPAY_DEPLOYER_KEY;
    if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error("AGENTPAY_DEPLOYER_KEY must be set to a 0x-prefixed 32-byte hex private key");
    const account = privateKeyToAccount(key as `0x${string}`);
    publicClient = createPublicClient({ transport: http(rpcUrl) });
    const id = await publicClient.getChainId();
    const chain = { id, name: `chain-${id}`, nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } } as Chain;
    walletClient = createWalletClient({ account, chain, transport: http(rpcUrl) });
  } else {
    const { network } = await import("hardhat");
    const { viem } = await network.create();
    publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain | undefined>;
    const [deployer] = await viem.getWalletClients();
    walletClient = deployer as unknown as WalletClient<Transport, Chain | undefined, Account | undefined>;
    const token = await viem.deployContract("TestStablecoin");
    testToken = token.address.toLowerCase() as Address;
  }
  const d = await deploySettlementContract({ publicClient, walletClient, maxVoucherLifetimeSec: lifetime, withdrawalDelaySec: delay });
  const result: DeployResult = {
    chainId: d.chainId, network: rpcUrl ? "rpc" : "hardhat-inprocess", settlement: d.settlement, executor: d.executor, deployer: d.deployer,
    deployBlock: d.blockNumber.toString(), txHash: d.txHash, maxVoucherLifetimeSec: d.maxVoucherLifetimeSec.toString(),
    withdrawalDelaySec: d.withdrawalDelaySec.toString(), ...(testToken ? { testToken } : {}), deployedAt: new Date().toISOString(),
  };
  const out = resolve(root, env.AGENTPAY_DEPLOY_OUT ?? `deployments/${d.chainId}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  return { result, out };
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  deploy().then(({ result, out }) => {
    console.log(`AgentPaySettlement deployed on chain ${result.chainId} (${result.network}) at ${result.settlement}`);
    console.log(`  executor ${result.executor}, block ${result.deployBlock}, deployer ${result.deployer}`);
    if (result.testToken) console.log(`  test stablecoin ${result.testToken}`);
    console.log(`  addresses written to ${out}`);
  }, (e: unknown) => {
    console.error(`deploy failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    process.exit(1);
  });
}
