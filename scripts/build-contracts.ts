// `hardhat build --quiet`, minus the compiler warnings that point into node_modules (e.g. solc's
// EIP-1153 notice on OpenZeppelin's TransientSlot, which a user of the demo cannot act on). Warnings
// about our own contracts and every error still print; the exit code is Hardhat's.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const r = spawnSync(process.execPath, [resolve(root, "node_modules/hardhat/dist/src/cli.js"), "build", "--quiet", ...process.argv.slice(2)], {
  cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
});
// solc's human output: blocks separated by blank lines; a warning block names its file on a "--> path" line.
const keep = (text: string): string =>
  text.split(/\n[ \t]*\n/).filter((block) => !(/^\s*Warning: /.test(block) && /-->\s+\.\/node_modules\//.test(block))).join("\n\n");
process.stdout.write(keep(r.stdout ?? "").trim() ? keep(r.stdout ?? "") : "");
process.stderr.write(keep(r.stderr ?? ""));
process.exit(r.status ?? 1);
