// Templates: hono/jsx elements written as tagged templates (htm), because Node runs the sources as
// TypeScript without a JSX transform. hono/jsx escapes every interpolated text and attribute value.
import htm from "htm";
import { Fragment, jsx } from "hono/jsx";
import type { JSXNode } from "hono/jsx";

export type Node = JSXNode;

type Htm = { bind<R>(h: (type: any, props: Record<string, any>, ...children: any[]) => R): (strings: TemplateStringsArray, ...values: any[]) => R | R[] };
// The package's types describe its CommonJS build; Node loads its ES module, whose default export is htm itself.
const htmFn = ((htm as unknown as { default?: Htm }).default ?? htm) as unknown as Htm;
const bound = htmFn.bind(jsx);

/** html`<p class=${x}>${text}</p>`: one node (several roots become a fragment). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Node {
  const r = bound(strings, ...values);
  return Array.isArray(r) ? jsx(Fragment, null, ...r) : r;
}
