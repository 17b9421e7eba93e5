// Child process for the directory-lock tests. `hold`: opens the directory, prints "held <pid>"
// (the pid as this process sees it), and keeps it open until its stdin closes. `try`: tries to
// open it and prints "opened <pid>" or "refused <code> <pid>".
import { AgentPay } from "../../src/index.ts";

const [mode, dir, storage] = process.argv.slice(2) as ["hold" | "try", string, "log" | "level"];
try {
  const pay = await AgentPay.open({ dir, storage, delivery: false, background: false });
  if (mode === "hold") {
    process.stdout.write(`held ${process.pid}\n`);
    process.stdin.resume();
    await new Promise((r) => process.stdin.on("end", r));
  } else {
    process.stdout.write(`opened ${process.pid}\n`);
  }
  await pay.close();
} catch (e) {
  process.stdout.write(`refused ${(e as { code?: string }).code ?? "?"} ${process.pid}\n`);
}
