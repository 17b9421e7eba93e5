import { spawn } from "node:child_process";

/**
 * Runs a child process that prints "ready" once set up, then SIGKILLs it `killAfterMs` later.
 * Every stdout line is handed to `onLine` (pipes are synchronous on Linux, so a line the child
 * printed before the kill is seen). Resolves once the child is dead; rejects if it exited by itself.
 */
export function runUntilKilled(childPath: string, args: string[], killAfterMs: number, onLine: (words: string[]) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childPath, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let buf = "";
    let stderr = "";
    let armed = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // The timer starts at the first acknowledged operation, not at "ready": on a loaded machine the
        // load may take longer than killAfterMs to get going, and a kill before it tests nothing.
        if (line !== "ready" && !armed) {
          armed = true;
          setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        }
        onLine(line.split(" "));
      }
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (_code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`child exited without being killed: ${stderr}`))));
  });
}
