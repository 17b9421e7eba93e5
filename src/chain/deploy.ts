// Deploys AgentPaySettlement with any viem wallet client (the bytecode ships in abi.ts).
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { AgentPayError, expectObject } from "../core/index.ts";
import { agentPaySettlementAbi, agentPaySettlementBytecode } from "./abi.ts";
import { decodeChainError } from "./errors.ts";

export interface DeploySettlementOptions {
  publicClient: PublicClient<Transport, Chain | undefined>;
  walletClient: WalletClient<Transport, Chain | undefined, Account | undefined>;
  /** Longest voucher lifetime, seconds. Default 1 day. */
  maxVoucherLifetimeSec?: bigint;
  /** Release delay from agent buckets, seconds; at least the lifetime. Default 1 day. */
  withdrawalDelaySec?: bigint;
}

export interface DeployedSettlement {
  readonly chainId: number;
  readonly settlement: Address;
  /** The stateless call executor the escrow deployed for itself. */
  readonly executor: Address;
  readonly deployer: Address;
  readonly blockNumber: bigint;
  readonly txHash: Hex;
  readonly maxVoucherLifetimeSec: bigint;
  readonly withdrawalDelaySec: bigint;
}

export async function deploySettlementContract(opts: DeploySettlementOptions): Promise<DeployedSettlement> {
  expectObject<DeploySettlementOptions>(opts, ["publicClient", "walletClient", "maxVoucherLifetimeSec", "withdrawalDelaySec"], "deploy options");
  if (typeof opts.walletClient?.deployContract !== "function" || typeof opts.publicClient?.waitForTransactionReceipt !== "function") {
    throw new AgentPayError("INVALID_INPUT", "deploying needs a viem walletClient and publicClient", { field: typeof opts.walletClient?.deployContract !== "function" ? "walletClient" : "publicClient" });
  }
  for (const f of ["maxVoucherLifetimeSec", "withdrawalDelaySec"] as const) {
    if (opts[f] !== undefined && typeof opts[f] !== "bigint") throw new AgentPayError("INVALID_INPUT", `${f} must be a bigint of seconds`, { field: f });
  }
  const account = opts.walletClient.account;
  if (!account) throw new AgentPayError("CHAIN_NO_WALLET", "deploying needs a wallet client with an account");
  const lifetime = opts.maxVoucherLifetimeSec ?? 86_400n;
  const delay = opts.withdrawalDelaySec ?? lifetime;
  if (lifetime <= 0n || delay < lifetime || delay >= 1n << 32n) {
    throw new AgentPayError("INVALID_INPUT", "need 0 < maxVoucherLifetimeSec <= withdrawalDelaySec < 2^32", { field: "withdrawalDelaySec" });
  }
  try {
    const txHash = await opts.walletClient.deployContract({
      abi: agentPaySettlementAbi, bytecode: agentPaySettlementBytecode as Hex, args: [lifetime, delay], account, chain: opts.walletClient.chain,
    } as never);
    const receipt = await opts.publicClient.waitForTransactionReceipt({ hash: txHash });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new AgentPayError("CHAIN_TX_FAILED", "the deployment failed", { txHash });
    const settlement = receipt.contractAddress.toLowerCase() as Address;
    const executor = (await opts.publicClient.readContract({ address: settlement, abi: agentPaySettlementAbi, functionName: "EXECUTOR" })) as Address;
    return {
      chainId: await opts.publicClient.getChainId(), settlement, executor: executor.toLowerCase() as Address,
      deployer: account.address.toLowerCase() as Address, blockNumber: receipt.blockNumber, txHash,
      maxVoucherLifetimeSec: lifetime, withdrawalDelaySec: delay,
    };
  } catch (e) {
    throw decodeChainError(e);
  }
}
