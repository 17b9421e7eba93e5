import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { AgentPayError } from "../core/index.ts";

/** Where and how a ledger lives in PostgreSQL (`AgentPay.open({ postgres })`). */
export interface PostgresOptions {
  /** A connection URL: `postgres://user:pass@host:5432/db`, or `postgres://user@/db?host=/socket/dir`. */
  url: string;
  /** The schema holding this ledger's tables: one ledger (one leader) per schema. Default "agentpay". */
  schema?: string;
  /** A leader that has not renewed its lease for this long may be replaced. Default 3,000 ms. */
  leaseMs?: number;
  /** How often a standby reads new batches and checks the lease (a NOTIFY wakes it sooner). Default 200 ms. */
  pollMs?: number;
  /** This node's name in the lease, reported to standbys as the leader. Default host:pid:random. */
  nodeName?: string;
  /** Whether this node, while it leads, keeps the snapshot and the read models. Default true. */
  projector?: boolean;
  /** How long log rows the snapshot covers are kept for standbys that lag behind. Default 10,000 ms. */
  logRetentionMs?: number;
  /** Never take the lease: a read replica. Default false. */
  standbyOnly?: boolean;
  /** Connections in the pool for reads, loads and the projector (the writer and the lease have their own). Default 4. */
  poolSize?: number;
}

export interface PostgresConfig {
  url: string;
  schema: string;
  leaseMs: number;
  pollMs: number;
  nodeName: string;
  projector: boolean;
  logRetentionMs: number;
  standbyOnly: boolean;
  poolSize: number;
}

/** Schema names go into SQL text (quoted), and into a NOTIFY channel name of at most 63 bytes. */
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,47}$/;

const KEYS = ["url", "schema", "leaseMs", "pollMs", "nodeName", "projector", "logRetentionMs", "standbyOnly", "poolSize"];

function int(v: unknown, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new AgentPayError("INVALID_INPUT", `${field} must be an integer from ${min} to ${max}`, { field });
  }
  return v;
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw new AgentPayError("INVALID_INPUT", `${field} must be a boolean`, { field });
  return v;
}

export function postgresConfig(input: unknown): PostgresConfig {
  const o: Record<string, unknown> = typeof input === "string" ? { url: input } : (input as Record<string, unknown>);
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    throw new AgentPayError("INVALID_INPUT", "postgres must be a connection URL or an options object", { field: "postgres" });
  }
  for (const k of Object.keys(o)) {
    if (!KEYS.includes(k)) throw new AgentPayError("INVALID_INPUT", `unknown postgres option ${JSON.stringify(k)}`, { field: `postgres.${k}` });
  }
  const url = o.url;
  if (typeof url !== "string" || !/^postgres(ql)?:\/\//.test(url) || url.length > 2_048) {
    // The URL may carry a password: never echo it.
    throw new AgentPayError("INVALID_INPUT", "postgres.url must be a postgres:// or postgresql:// URL", { field: "postgres.url" });
  }
  const schema = o.schema ?? "agentpay";
  if (typeof schema !== "string" || !SCHEMA_RE.test(schema)) {
    throw new AgentPayError("INVALID_INPUT", "postgres.schema must be 1-48 characters of a-z, 0-9 and _, not starting with a digit", { field: "postgres.schema" });
  }
  const nodeName = o.nodeName ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  if (typeof nodeName !== "string" || nodeName.length === 0 || nodeName.length > 200) {
    throw new AgentPayError("INVALID_INPUT", "postgres.nodeName must be 1-200 characters", { field: "postgres.nodeName" });
  }
  const leaseMs = int(o.leaseMs, "postgres.leaseMs", 3_000, 100, 600_000);
  return {
    url, schema, nodeName, leaseMs,
    pollMs: int(o.pollMs, "postgres.pollMs", 200, 10, Math.max(10, Math.floor(leaseMs / 2))),
    projector: bool(o.projector, "postgres.projector", true),
    logRetentionMs: int(o.logRetentionMs, "postgres.logRetentionMs", 10_000, 0, 86_400_000),
    standbyOnly: bool(o.standbyOnly, "postgres.standbyOnly", false),
    poolSize: int(o.poolSize, "postgres.poolSize", 4, 1, 100),
  };
}
