// A readable API reference rendered on the server from the OpenAPI document itself: no script, no
// CDN (these machines and many deployments are offline). The usual reference UIs load their code from
// a CDN or install hundreds of MB; this page needs neither, and cannot drift from /openapi.json.
type Json = Record<string, unknown>;

const esc = (s: unknown): string => String(s ?? "").replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function schemaText(schema: unknown, doc: Json, depth = 0): string {
  if (!schema || typeof schema !== "object" || depth > 6) return "";
  const s = schema as Json;
  if (typeof s.$ref === "string") {
    const name = s.$ref.split("/").pop()!;
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return ((s.anyOf ?? s.oneOf) as unknown[]).map((x) => schemaText(x, doc, depth + 1)).join(" | ");
  if (s.type === "array") return `${schemaText(s.items, doc, depth + 1)}[]`;
  if (s.type === "object" && s.properties) {
    const req = new Set((s.required as string[] | undefined) ?? []);
    const rows = Object.entries(s.properties as Record<string, Json>).map(([k, v]) =>
      `<li><code>${esc(k)}</code>${req.has(k) ? "" : "?"}: ${schemaText(v, doc, depth + 1)}${v.description ? ` — ${esc(v.description)}` : ""}</li>`);
    return `object<ul>${rows.join("")}</ul>`;
  }
  const t = Array.isArray(s.type) ? (s.type as string[]).join(" | ") : String(s.type ?? "any");
  return `${esc(t)}${s.enum ? ` (${(s.enum as unknown[]).map((e) => `<code>${esc(e)}</code>`).join(", ")})` : ""}${s.pattern ? ` <small>/${esc(s.pattern)}/</small>` : ""}`;
}

export function referencePage(doc: Json): string {
  const info = doc.info as Json;
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const byTag = new Map<string, string[]>();
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = ((op.tags as string[] | undefined) ?? ["other"])[0]!;
      const params = ((op.parameters as Json[] | undefined) ?? []).map((p) =>
        `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ", required" : ""}): ${schemaText(p.schema, doc)}${p.description ? ` — ${esc(p.description)}` : ""}</li>`).join("");
      const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      const responses = Object.entries((op.responses as Record<string, Json>) ?? {}).filter(([s]) => Number(s) < 400)
        .map(([s, r]) => `<li><b>${esc(s)}</b> ${esc(r.description)}: ${schemaText(((r.content as Record<string, Json> | undefined)?.["application/json"])?.schema, doc)}</li>`).join("");
      const security = ((op.security as Json[] | undefined) ?? []).map((x) => Object.keys(x).join("")).join(" or ") || "none";
      const html = `<section class="op" id="${esc(`${method}-${path}`)}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p>${op.description ? `<p>${esc(op.description)}</p>` : ""}<p><small>Auth: ${esc(security)}</small></p>
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ""}${body?.["application/json"] ? `<h4>Body</h4>${schemaText(body["application/json"].schema, doc)}` : ""}
<h4>Responses</h4><ul>${responses}<li>4xx/5xx: <a href="#schema-Error">Error</a> (docs/ERRORS.md lists every code)</li></ul></section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const schemas = Object.entries(((doc.components as Json | undefined)?.schemas as Record<string, Json> | undefined) ?? {})
    .map(([name, s]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3>${schemaText(s, doc)}</section>`).join("");
  const toc = [...byTag.keys()].map((t) => `<a href="#tag-${esc(t)}">${esc(t)}</a>`).join(" · ");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} API reference</title><style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1b1b1b}code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}
.op{border-top:1px solid #ddd;padding:.5rem 0}.m{font:bold 12px ui-monospace,monospace;padding:.1em .4em;border-radius:3px;color:#fff;background:#555}
.get{background:#1f6feb}.post{background:#1a7f37}.put{background:#9a6700}.delete{background:#cf222e}h3{margin:.3rem 0}ul{margin:.2rem 0}
</style></head><body><h1>${esc(info.title)} <small>${esc(info.version)}</small></h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p><nav>${toc}</nav>
${[...byTag.entries()].map(([t, ops]) => `<h2 id="tag-${esc(t)}">${esc(t)}</h2>${ops.join("")}`).join("")}
<h2>Schemas</h2>${schemas}</body></html>`;
}
