// Builds the package a consumer installs: src/ → dist/ (ESM JavaScript, .d.ts, source maps with the
// sources inlined, so no .ts file ships), plus the settlement contract's ABI and bytecode as JSON for
// merchants and tools that are not TypeScript. Run by `npm run build` and by `prepack`.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(resolve(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "-p", resolve(root, "tsconfig.build.json")], { stdio: "inherit" });

const { agentPaySettlementAbi, agentPaySettlementBytecode } = await import(pathToFileURL(resolve(root, "dist/chain/abi.js")).href) as {
  agentPaySettlementAbi: unknown[]; agentPaySettlementBytecode: string;
};
mkdirSync(resolve(root, "dist/abi"), { recursive: true });
writeFileSync(resolve(root, "dist/abi/AgentPaySettlement.json"),
  `${JSON.stringify({ contractName: "AgentPaySettlement", abi: agentPaySettlementAbi, bytecode: agentPaySettlementBytecode }, null, 2)}\n`);
console.log("built dist/");
