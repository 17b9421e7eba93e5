#!/usr/bin/env node
// The `agentpay` binary (package.json "bin"). The commands are in program.ts.
import { main } from "./program.ts";

const args = process.argv.slice(2);
const code = await main(args);
// `serve` and `mcp` keep running after their command resolves; everything else exits with its code.
if (code !== 0 || !["serve", "mcp"].includes(args.find((a) => !a.startsWith("-")) ?? "")) process.exitCode = code;
