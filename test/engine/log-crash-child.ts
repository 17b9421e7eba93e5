// Child process for the LogStore crash test: writes numbered batches (three keys each, one of
// them overwritten every time, one deleted now and then) with compaction forced often, and prints
// "ack <n>" once batch n is durable. The parent SIGKILLs it at a random moment.
import { LogStore } from "../../src/engine/index.ts";

const [dir, from] = process.argv.slice(2) as [string, string];
const store = new LogStore(dir, { compactMinBytes: 16 * 1024 });
await store.open();
for await (const _ of store.entries()) {
  // the parent checks the content; the child only needs the store open
}
process.stdout.write("ready\n");
for (let n = Number(from); ; n++) {
  const ops = [
    { type: "put" as const, key: `b/${String(n).padStart(8, "0")}/1`, value: `{"n":${n},"pad":"${"x".repeat(200)}"}` },
    { type: "put" as const, key: `b/${String(n).padStart(8, "0")}/2`, value: `{"n":${n}}` },
    { type: "put" as const, key: "last", value: String(n) },
    ...(n % 7 === 0 ? [{ type: "del" as const, key: `b/${String(n - 1).padStart(8, "0")}/2` }] : []),
  ];
  await store.write(ops);
  process.stdout.write(`ack ${n}\n`);
}
