// PostgreSQL as the engine's durable, replicated store: the log and snapshot tables, the lease that
// makes one node the leader, the replay that keeps standbys current, and the projector that keeps
// the read models. node-postgres is loaded on first use only (driver.ts). Schema: docs/POSTGRES.md.
export { PostgresNode } from "./node.ts";
export type { NodeHooks, NodeStatus, Role } from "./node.ts";
export { PostgresStore } from "./store.ts";
export { postgresConfig } from "./options.ts";
export type { PostgresConfig, PostgresOptions } from "./options.ts";
export { migrations } from "./migrate.ts";
