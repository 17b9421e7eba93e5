// `agentpay serve` as a user runs it: a process of its own, in memory, with an operator key in the
// environment. Resolves once it printed where it listens and where the console is.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { root } from "./browser.ts";

export async function startCli(): Promise<{ url: string; consoleUrl: string; operatorKey: string; stop(): Promise<void> }> {
  const operatorKey = `op_${randomBytes(24).toString("base64url")}`;
  const child = spawn(process.execPath, [join(root, "src/cli/main.ts"), "serve", "--memory", "--port", "0"], {
    cwd: root, env: { ...process.env, AGENTPAY_OPERATOR_KEY: operatorKey, AGENTPAY_CONFIG: join(root, "test/console/.no-config.json") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  // stdout has the one line scripts wait for; the console's address goes to stderr, for the person
  const lines = createInterface({ input: child.stdout });
  const notes = createInterface({ input: child.stderr });
  notes.on("line", (l) => process.stderr.write(`${l}\n`));
  let url: string | undefined;
  let consoleUrl: string | undefined;
  await new Promise<void>((resolve, reject) => {
    void exited.then((c) => reject(new Error(`agentpay serve exited (${c}) before it listened`)));
    lines.on("line", (l) => {
      const m = /^agentpay listening on (\S+)$/.exec(l);
      if (m) url = m[1];
      if (url && consoleUrl) resolve();
    });
    notes.on("line", (l) => {
      const k = /^agentpay console on (\S+)$/.exec(l);
      if (k) consoleUrl = k[1];
      if (url && consoleUrl) resolve();
    });
  });
  return {
    url: url!, consoleUrl: consoleUrl!, operatorKey,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
