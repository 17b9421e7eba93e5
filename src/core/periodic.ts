/**
 * Runs `task` every `intervalMs`, never two at once (a slow run makes the next tick skip),
 * without keeping the process alive. Errors are the task's to handle (a rejection or a synchronous
 * throw is dropped, never an uncaught exception). Returns the stop function.
 */
export function every(intervalMs: number, task: () => Promise<unknown>): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.resolve().then(task).catch(() => {}).finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
