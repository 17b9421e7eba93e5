// An agent in a process of its own: it signs a payment intent with its key, posts it to the server
// (POST /v1/payment-intents), and, when the person is asked, long-polls its payment
// (GET /v1/payments/{id}?wait=…, a signed request) until the person answers. One JSON line per step
// on stdout: {"step":"asked",…}, then {"step":"final",…}.
import { amount, buildPayIntent, requestSignatureBody, signIntent } from "../../src/index.ts";

interface Args { url: string; agentId: string; jwk: Record<string, unknown>; subWalletId: string; merchantId: string; value: string; currency: string; reference?: string; waitS?: number }
const args = JSON.parse(process.argv[2]!) as Args;
const jwk = args.jwk as unknown as Parameters<typeof signIntent>[0];
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const body = buildPayIntent({
  subWalletId: args.subWalletId, merchantId: args.merchantId, amount: amount(args.value, args.currency),
  ...(args.reference ? { reference: args.reference } : {}),
});
const intent = await signIntent(jwk, { agentId: args.agentId, body });
const r = await fetch(`${args.url}/v1/payment-intents`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ intent }) });
const asked = await r.json() as { status?: string; paymentId?: string; token?: string; error?: { code: string } };
out({ step: "asked", http: r.status, ...asked });
if (r.status !== 201 || asked.status !== "pending_approval") process.exit(0);

for (let round = 0; round < 20; round++) {
  const path = `/v1/payments/${asked.paymentId}?wait=${args.waitS ?? 30}`;
  const sig = await signIntent(jwk, { agentId: args.agentId, body: requestSignatureBody("GET", path) });
  const res = await fetch(`${args.url}${path}`, { headers: { authorization: `Agent ${sig}` } });
  const p = await res.json() as { status?: string; token?: string; id?: string };
  if (res.status !== 200 || p.status !== "pending_approval") {
    out({ step: "final", http: res.status, paymentId: p.id, status: p.status, token: p.token });
    process.exit(0);
  }
}
out({ step: "gave-up" });
