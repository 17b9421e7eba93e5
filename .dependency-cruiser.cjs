// The import rules of DESIGN.md, checked by test/architecture.test.ts (`npx depcruise src` shows them too).
const DOMAIN = "(wallets|agents|approvals|events|tokens|merchants|risk|chain|api-keys)";
const INTERFACES = "(http|client|cli|mcp|x402|console)";
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "Imports go downward only: no circles.", from: { path: "^src" }, to: { circular: true } },
    {
      name: "through-index", severity: "error",
      comment: "A module imports another only through its index.ts (its public face). Exception: code that also runs in the store's worker threads takes core's codec and errors directly, so a worker does not load all of core.",
      from: { path: "^src/([^/]+)/", pathNot: "^src/engine/packed-ops\\.ts$" },
      to: { path: "^src/[^/]+/", pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$"] },
    },
    { name: "core-is-the-base", severity: "error", from: { path: "^src/core/" }, to: { path: "^src/(?!core/)" } },
    { name: "engine-above-core-only", severity: "error", from: { path: "^src/engine/" }, to: { path: "^src/(?!core/|engine/)" } },
    { name: "ledger-above-engine-only", severity: "error", from: { path: "^src/ledger/" }, to: { path: "^src/(?!core/|engine/|ledger/)" } },
    {
      name: "domain-below-flows", severity: "error",
      from: { path: `^src/${DOMAIN}/` },
      to: { path: `^src/(payments|chain-bridge|${INTERFACES.slice(1, -1)})/|^src/(agentpay|index)\\.ts$` },
    },
    { name: "payments-below-bridge", severity: "error", from: { path: "^src/payments/" }, to: { path: `^src/(chain-bridge|${INTERFACES.slice(1, -1)})/|^src/(agentpay|index)\\.ts$` } },
    { name: "bridge-below-facade", severity: "error", from: { path: "^src/chain-bridge/" }, to: { path: `^src/${INTERFACES}/|^src/(agentpay|index)\\.ts$` } },
    { name: "postgres-below-facade", severity: "error", comment: "The PostgreSQL store and node sit beside the chain bridge: the facade uses them, they never use it or an interface.", from: { path: "^src/postgres/" }, to: { path: `^src/(payments|chain-bridge|${INTERFACES.slice(1, -1)})/|^src/(agentpay|index)\\.ts$` } },
    { name: "facade-below-interfaces", severity: "error", from: { path: "^src/(agentpay|index)\\.ts$" }, to: { path: `^src/${INTERFACES}/` } },
    {
      name: "interfaces-use-the-public-library", severity: "error",
      comment: "http, client, cli, mcp, x402 and console call the facade and module faces, never the engine or the ledger's internals.",
      from: { path: `^src/${INTERFACES}/` },
      to: { path: "^src/(engine|ledger|postgres)/" },
    },
    {
      name: "core-loads-no-heavy-package", severity: "error",
      comment: "The core import must not load viem, a server framework, the MCP SDK or a SQL driver (dynamic import() is fine).",
      from: { path: `^src/(core|engine|ledger|${DOMAIN.slice(1, -1).replace("|chain", "")}|payments)/|^src/(agentpay|index)\\.ts$` },
      to: { path: "node_modules/(viem|ox|hono|@hono|@modelcontextprotocol|pg|postgres|commander|zod|hardhat)/", dependencyTypesNot: ["type-only", "dynamic-import"] },
    },
    {
      name: "client-loads-no-server", severity: "error",
      comment: "agentpay/client runs where the agent or the merchant runs: no server framework, MCP SDK, viem, CLI or SQL driver (types are fine).",
      from: { path: "^src/client/" },
      to: { path: "node_modules/(viem|ox|hono|@hono|@scalar|@modelcontextprotocol|pg|postgres|commander|zod|hardhat|pino|level|classic-level)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "client-reaches-no-interface", severity: "error",
      comment: "The clients speak HTTP: they never import the server, the CLI or MCP (the facade's types are fine).",
      from: { path: "^src/client/" },
      to: { path: "^src/(http|cli|mcp|x402|console|chain-bridge)/|^src/(agentpay|index)\\.ts$", dependencyTypesNot: ["type-only"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"], extensions: [".ts", ".js", ".d.ts"] },
  },
};
