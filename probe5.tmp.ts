import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { unpackOps } from "./src/engine/index.ts";
import { statements } from "./src/postgres/sql.ts";
const url = process.env.AGENTPAY_TEST_PG_URL!;
const schema = process.argv[2]!;
const s = schema;
const c = new pg.Client({ connectionString: url });
await c.connect();
const { rows } = await c.query(`SELECT pos, ops FROM ${schema}.log ORDER BY pos LIMIT 4 OFFSET 40`);
const latest = new Map<string, [number, Uint8Array | undefined]>();
for (const r of rows) for (const op of unpackOps(r.ops)) latest.set(Buffer.from(op.key).toString(), [Number(r.pos), op.type === "put" ? op.value : undefined]);
console.log("records", latest.size);
await c.query(`CREATE TEMP TABLE fold_input (key text, pos bigint, val text)`);
async function time(label: string, f: () => Promise<unknown>) {
  const ts: number[] = [];
  for (let i = 0; i < 3; i++) {
    await c.query("BEGIN");
    const t = performance.now();
    await f();
    ts.push(performance.now() - t);
    await c.query("ROLLBACK");
  }
  console.log(label, ts.map((x) => x.toFixed(0)).join(" "), "ms");
}
function jsonParam() {
  const parts: Buffer[] = [Buffer.from("[")];
  let first = true;
  for (const [k, [p, v]] of latest) { if (!first) parts.push(Buffer.from(",")); first = false; parts.push(Buffer.from(`[${JSON.stringify(k)},${p},`), Buffer.from(v ?? Buffer.from("null")), Buffer.from("]")); }
  parts.push(Buffer.from("]"));
  return Buffer.concat(parts).toString("utf8");
}
async function copyIn() {
  const lines: Buffer[] = [];
  for (const [k, [p, v]] of latest) {
    const val = v ? Buffer.from(v).toString("utf8").replace(/\\/g, "\\\\") : "\\N";
    lines.push(Buffer.from(`${k}\t${p}\t${val}\n`));
  }
  const stream = c.query(copyFrom(`COPY fold_input (key, pos, val) FROM STDIN`));
  await pipeline(Readable.from([Buffer.concat(lines)]), stream);
}
const snapJson = `INSERT INTO ${s}.snapshot_record (key, value) SELECT e->>0, (e->2)::text FROM json_array_elements($1::json) e WHERE json_typeof(e->2) <> 'null' ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
const snapCopy = `INSERT INTO ${s}.snapshot_record (key, value) SELECT key, val FROM fold_input WHERE val IS NOT NULL ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
await time("json build+parse count", async () => c.query(`SELECT count(*) FROM json_array_elements($1::json)`, [jsonParam()]));
await time("copy in", copyIn);
await time("json snapshot", async () => c.query(snapJson, [jsonParam()]));
await time("copy + snapshot", async () => { await copyIn(); await c.query(snapCopy); });
const arrays = () => { const k: string[] = [], p: number[] = [], v: (string|null)[] = []; for (const [kk, [pp, vv]] of latest) { k.push(kk); p.push(pp); v.push(vv ? Buffer.from(vv).toString() : null); } return [k, p, v]; };
await time("arrays snapshot", async () => c.query(`INSERT INTO ${s}.snapshot_record (key, value) SELECT k, v FROM unnest($1::text[], $2::bigint[], $3::text[]) u(k, p, v) WHERE v IS NOT NULL ON CONFLICT (key) DO UPDATE SET value = excluded.value`, arrays()));
await time("json full project", async () => c.query(statements(schema).project, [jsonParam()]));
await time("copy + full project", async () => { await copyIn(); await c.query(statements(schema).project.replace("SELECT e ->> 0 AS key, (e ->> 1)::bigint AS pos, e -> 2 AS val FROM json_array_elements($1::json) AS e", "SELECT key, pos, to_json(val::json) AS val FROM fold_input").replace(/json_typeof\(i\.val\) = 'null'/, "i.val IS NULL")); });
await c.end();
