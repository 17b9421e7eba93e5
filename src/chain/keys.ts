// Agents' secp256k1 voucher keys. A key the library generates is persisted through the engine like
// the token keys (`ck/<agentId>`); a host-supplied signer is remembered by address only and must be
// supplied again after a restart. Private keys never appear in errors, logs or toJSON.
import { inspect } from "node:util";
import type { Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { AgentPayError } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import { hostSigner, privateKeySigner } from "./signer.ts";
import type { HostSigner, VoucherSigner } from "./signer.ts";

export const CHAIN_KEY_PREFIX = "ck/";
export const chainKeyKey = (agentId: string): string => `${CHAIN_KEY_PREFIX}${agentId}`;

/** The stored record. `privateKey` only for library keys: a secret, never returned by any getter. */
interface ChainKeyRecord {
  readonly agentId: string;
  readonly address: Address;
  readonly source: "library" | "host";
  readonly privateKey?: Hex;
  readonly createdAtMs: number;
}

export interface ChainKeyInfo {
  readonly agentId: string;
  readonly address: Address;
  readonly source: "library" | "host";
  readonly createdAtMs: number;
}

function info(r: ChainKeyRecord): ChainKeyInfo {
  return { agentId: r.agentId, address: r.address, source: r.source, createdAtMs: r.createdAtMs };
}

export class ChainKeys {
  readonly #engine: Engine;
  readonly #signers = new Map<string, VoucherSigner>();

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** The agent's voucher key, if it has one. */
  get(agentId: string): ChainKeyInfo | undefined {
    const r = this.#engine.read<ChainKeyRecord>(chainKeyKey(agentId));
    return r ? info(r) : undefined;
  }

  /** The agent's key, generating and persisting one (secp256k1) if it has none. Idempotent. */
  async ensure(agentId: string): Promise<ChainKeyInfo> {
    const existing = this.get(agentId);
    if (existing) return existing;
    const privateKey = generatePrivateKey();
    const address = privateKeyToAccount(privateKey).address.toLowerCase() as Address;
    const r = await this.#engine.submit((tx) => {
      const prior = tx.get<ChainKeyRecord>(chainKeyKey(agentId));
      if (prior) return prior;
      const rec: ChainKeyRecord = { agentId, address, source: "library", privateKey, createdAtMs: tx.nowMs };
      tx.put(chainKeyKey(agentId), rec);
      return rec;
    });
    return info(r);
  }

  /**
   * Uses a host-supplied viem Account or ethers Signer for the agent's vouchers. The first call
   * records its address; later calls (e.g. after a restart) must supply a signer of the same address.
   */
  async useSigner(agentId: string, signer: HostSigner): Promise<ChainKeyInfo> {
    const s = await hostSigner(signer);
    const r = await this.#engine.submit((tx) => {
      const prior = tx.get<ChainKeyRecord>(chainKeyKey(agentId));
      if (prior) {
        if (prior.address !== s.address) {
          throw new AgentPayError("CHAIN_AGENT_KEY_EXISTS", "the agent already has another voucher key", { agentId, address: prior.address });
        }
        return prior;
      }
      const rec: ChainKeyRecord = { agentId, address: s.address, source: "host", createdAtMs: tx.nowMs };
      tx.put(chainKeyKey(agentId), rec);
      return rec;
    });
    this.#signers.set(agentId, s);
    return info(r);
  }

  /** The signer for the agent's vouchers: CHAIN_SIGNER_MISSING when a host key was not supplied since start. */
  signerFor(agentId: string): VoucherSigner {
    const cached = this.#signers.get(agentId);
    if (cached) return cached;
    const r = this.#engine.read<ChainKeyRecord>(chainKeyKey(agentId));
    if (!r) throw new AgentPayError("CHAIN_NO_AGENT_KEY", "the agent has no voucher key", { agentId });
    if (r.source === "host" || !r.privateKey) {
      throw new AgentPayError("CHAIN_SIGNER_MISSING", "the agent's voucher key is held by the host: call useSigner after start", { agentId, address: r.address });
    }
    const s = privateKeySigner(r.privateKey);
    this.#signers.set(agentId, s);
    return s;
  }

  toJSON(): { agents: number } {
    return { agents: this.#signers.size };
  }

  [inspect.custom](): string {
    return `ChainKeys ${inspect(this.toJSON())}`;
  }
}
