// Runs `agentpay serve` as a child process (the CLI a user runs) and hands back its URL, for the HTTP
// demo and the tests that need a server in another process. `stop()` sends SIGTERM (the server drains
// and closes) and waits for the exit; SIGKILL after `killAfterMs`.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = resolve(root, "src/cli/main.ts");

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** What the server wrote to stderr so far (its errors). */
  stderr(): string;
  /** SIGTERM, then the exit code (null if it had to be killed). */
  stop(killAfterMs?: number): Promise<number | null>;
}

export interface ServerProcessOptions {
  /** Extra arguments after `serve` (default `--memory`). */
  args?: string[];
  /** The operator's bearer secret (AGENTPAY_OPERATOR_KEY). */
  operatorKey: string;
  /** How long to wait for `agentpay listening on …`. Default 30 s. */
  startTimeoutMs?: number;
}

export function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...(opts.args ?? ["--memory"])], {
    env: { ...process.env, AGENTPAY_OPERATOR_KEY: opts.operatorKey },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err = (err + d).slice(-64 * 1024);
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    let out = "";
    let started = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`agentpay serve did not start in time: ${err}`));
    }, opts.startTimeoutMs ?? 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`agentpay serve exited (${code}) before listening: ${err}`));
    });
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /agentpay listening on (http:\/\/\S+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      started = true;
      child.stdout!.removeAllListeners("data");
      child.stdout!.resume();
      resolvePromise({
        url: m[1]!, child, stderr: () => err,
        stop: async (killAfterMs = 15_000) => {
          if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
          child.kill("SIGTERM");
          const t = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
          const code = await exited;
          clearTimeout(t);
          return code;
        },
      });
    });
  });
}
