/**
 * The URL of a sibling module for a worker thread: `./name.ts` when running from the TypeScript
 * sources (tests, scripts), `./name.js` from the compiled package. A literal `.ts` URL would break
 * the built package (Node refuses to strip types inside node_modules).
 */
export function siblingModuleUrl(importMetaUrl: string, name: string): URL {
  const ext = importMetaUrl.endsWith(".ts") ? ".ts" : ".js";
  return new URL(`./${name}${ext}`, importMetaUrl);
}
