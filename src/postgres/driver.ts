// node-postgres, loaded only when a PostgreSQL store is opened: importing agentpay loads no SQL driver.
import type * as PgModule from "pg";

export type Pg = typeof PgModule;
export type PgClient = PgModule.Client;
export type PgPool = PgModule.Pool;
export type PgPoolClient = PgModule.PoolClient;

let loading: Promise<Pg> | undefined;

export function loadPg(): Promise<Pg> {
  loading ??= import("pg").then((m) => (m as unknown as { default?: Pg }).default ?? (m as unknown as Pg));
  return loading;
}
