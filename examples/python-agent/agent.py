#!/usr/bin/env python3
"""An agentpay agent in Python: the standard library plus `cryptography`, nothing else.

It signs its requests itself, exactly as docs/AGENTS.md describes (a compact JWS per intent, Ed25519),
so its private key never leaves this process. Commands:

  agent.py keygen --out agent-key.pem
      Makes an Ed25519 key (PKCS#8 PEM, mode 0600) and prints its PUBLIC JWK: register the agent
      with it (POST /v1/agents { name, publicKeyJwk }) and keep the agent id you get back.

  agent.py pay --base-url http://127.0.0.1:8787 --agent-id agt_... --key agent-key.pem \\
               --sub-wallet sw_... --merchant mer_... --amount 12.50 --currency USD [--wait 300]
      Asks to pay (POST /v1/payment-intents); if the person must approve, long-polls
      GET /v1/payments/{id}?wait=30 until they do; prints the result as one JSON line, with the
      single-use token to hand to the merchant. Exit 0 when approved, 2 when denied, declined or
      still waiting at the end, 1 on any other error.

  agent.py example
      Prints docs/AGENTS.md's worked example (a fixed key, time and nonce): the intent it signs.

Amounts are decimal strings ("12.50") from end to end: never a float.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

INTENT_TYP = "agentpay-intent+jwt"
DECIMAL_RE = re.compile(r"^\d{1,30}(\.\d{1,18})?$")
MAX_POLL_S = 30


def b64u(data: bytes) -> str:
    """base64url without padding (RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_json(obj) -> bytes:
    """JSON with no whitespace, UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def public_jwk(key: Ed25519PrivateKey) -> dict:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}


def thumbprint(jwk: dict) -> str:
    """The key id: the RFC 7638 thumbprint, SHA-256 over the required members in lexical order."""
    canonical = compact_json({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]})
    return b64u(hashlib.sha256(canonical).digest())


class ApiError(Exception):
    """The API's error body: {"error": {"code", "message", "details", "requestId"}}."""

    def __init__(self, status, code, message, details=None, request_id=None):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.request_id = request_id


class Agent:
    def __init__(self, base_url: str, agent_id: str, key: Ed25519PrivateKey):
        self.base_url = base_url.rstrip("/")
        self.agent_id = agent_id
        self.key = key
        self.kid = thumbprint(public_jwk(key))

    def sign(self, body: dict, iat: int = None, nonce: str = None) -> str:
        """A compact JWS: header {alg, typ, kid}, payload {iss, iat, nonce, body}, Ed25519 signature."""
        header = {"alg": "EdDSA", "typ": INTENT_TYP, "kid": self.kid}
        payload = {
            "iss": self.agent_id,
            "iat": int(time.time()) if iat is None else iat,
            "nonce": b64u(secrets.token_bytes(16)) if nonce is None else nonce,
            "body": body,
        }
        signing_input = b64u(compact_json(header)) + "." + b64u(compact_json(payload))
        return signing_input + "." + b64u(self.key.sign(signing_input.encode("ascii")))

    def call(self, method: str, path: str, body=None, signed: bool = False, timeout_s: float = 30):
        """One request. Reads are signed over method, path (with query) and the body's SHA-256."""
        raw = b"" if body is None else compact_json(body)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = self.base_url + path
        if signed:
            target = urllib.parse.urlsplit(url)
            signed_path = target.path + (("?" + target.query) if target.query else "")
            headers["Authorization"] = "Agent " + self.sign({
                "action": "request", "method": method, "path": signed_path,
                "bodySha256": b64u(hashlib.sha256(raw).digest()),
            })
        req = urllib.request.Request(url, data=raw if body is not None else None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as res:
                return json.loads(res.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                err = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                raise ApiError(e.code, "RESPONSE_INVALID", f"the server answered {e.code} without the API's error body")
            raise ApiError(e.code, err.get("code"), err.get("message"), err.get("details"), err.get("requestId"))

    def request_payment(self, sub_wallet_id, merchant_id, amount, currency, reference=None, idempotency_key=None) -> dict:
        if not isinstance(amount, str) or not DECIMAL_RE.match(amount):
            raise ValueError("amount must be a decimal string such as 12.50")
        body = {
            "action": "pay", "subWalletId": sub_wallet_id, "merchantId": merchant_id,
            "amount": amount, "currency": currency,
            "idempotencyKey": idempotency_key or "py-" + secrets.token_hex(12),
        }
        if reference is not None:
            body["reference"] = reference
        # The intent authenticates itself: no Authorization header. A retry signs the same body anew.
        return self.call("POST", "/v1/payment-intents", {"intent": self.sign(body)})

    def wait_for_approval(self, payment_id: str, timeout_s: float) -> dict:
        """Long-polls the payment until the person decided or the time is up; returns the payment."""
        deadline = time.monotonic() + timeout_s
        while True:
            wait = max(0, min(MAX_POLL_S, int(deadline - time.monotonic())))
            payment = self.call("GET", f"/v1/payments/{payment_id}?wait={wait}", signed=True, timeout_s=wait + 15)
            if payment["status"] != "pending_approval" or wait == 0:
                return payment


def load_key(path: str) -> Ed25519PrivateKey:
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the key must be an Ed25519 private key")
    return key


def cmd_keygen(args) -> int:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    jwk = public_jwk(key)
    print(json.dumps({"publicKeyJwk": jwk, "kid": thumbprint(jwk)}))
    return 0


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_pay(args) -> int:
    try:
        agent = Agent(args.base_url, args.agent_id, load_key(args.key))
        say(f"agent {agent.agent_id} (key {agent.kid}) asks to pay {args.amount} {args.currency} to {args.merchant}")
        result = agent.request_payment(args.sub_wallet, args.merchant, args.amount, args.currency, args.reference)
        if result["status"] == "pending_approval":
            say(f"the person must approve (approval {result['approvalId']}): waiting up to {args.wait} s")
            payment = agent.wait_for_approval(result["paymentId"], args.wait)
            if payment["status"] == "authorized":
                result = {"status": "approved", "paymentId": payment["id"], "token": payment["token"],
                          "tokenId": payment["tokenId"], "expiresAt": payment["expiresAt"]}
            else:
                result = {"status": payment["status"], "paymentId": payment["id"]}
    except (ValueError, OSError) as e:
        if isinstance(e, urllib.error.URLError):
            say(f"could not reach the server: {e}")
            return 1
        say(f"not sent: {e}")
        return 1
    except ApiError as e:
        say(f"refused: {e.code}: {e.message} (request {e.request_id})")
        print(json.dumps({"status": "error", "code": e.code, "message": e.message, "details": e.details, "requestId": e.request_id}))
        return 2 if e.code == "PAYMENT_DECLINED" else 1
    if result["status"] == "approved":
        say(f"approved: payment {result['paymentId']}, token {result['tokenId']} valid until {result['expiresAt']}")
        print(json.dumps({k: result[k] for k in ("status", "paymentId", "tokenId", "expiresAt", "token")}))
        return 0
    say(f"not approved: {result['status']}")
    print(json.dumps({"status": result["status"], "paymentId": result["paymentId"]}))
    return 2


# docs/AGENTS.md's worked example: RFC 8032's first Ed25519 test key, a fixed time and nonce.
EXAMPLE_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
EXAMPLE_AGENT = "agt_0123456789abcdefghjkmnpqrs"
EXAMPLE_IAT = 1796385600  # 2026-12-04T12:00:00Z
EXAMPLE_NONCE = "AAECAwQFBgcICQoLDA0ODw"
EXAMPLE_BODY = {
    "action": "pay", "subWalletId": "sw_0123456789abcdefghjkmnpqrs", "merchantId": "mer_0123456789abcdefghjkmnpqrs",
    "amount": "12.50", "currency": "USD", "idempotencyKey": "order-1042",
}


def cmd_example(_args) -> int:
    key = Ed25519PrivateKey.from_private_bytes(EXAMPLE_SEED)
    agent = Agent("http://127.0.0.1:8787", EXAMPLE_AGENT, key)
    print(json.dumps({
        "publicKeyJwk": public_jwk(key), "kid": agent.kid,
        "intent": agent.sign(EXAMPLE_BODY, iat=EXAMPLE_IAT, nonce=EXAMPLE_NONCE),
        "requestSignature": agent.sign({
            "action": "request", "method": "GET", "path": "/v1/payments/pay_0123456789abcdefghjkmnpqrs?wait=30",
            "bodySha256": b64u(hashlib.sha256(b"").digest()),
        }, iat=EXAMPLE_IAT, nonce=EXAMPLE_NONCE),
    }))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="An agentpay agent (standard library + cryptography).")
    sub = parser.add_subparsers(dest="command", required=True)
    k = sub.add_parser("keygen", help="make an Ed25519 key; print its public JWK")
    k.add_argument("--out", required=True)
    p = sub.add_parser("pay", help="ask to pay, wait for the approval, print the token")
    p.add_argument("--base-url", required=True)
    p.add_argument("--agent-id", required=True)
    p.add_argument("--key", required=True, help="the agent's Ed25519 private key (PKCS#8 PEM)")
    p.add_argument("--sub-wallet", required=True)
    p.add_argument("--merchant", required=True)
    p.add_argument("--amount", required=True, help="a decimal string, e.g. 12.50")
    p.add_argument("--currency", required=True)
    p.add_argument("--reference")
    p.add_argument("--wait", type=int, default=300, help="seconds to wait for the person's approval")
    sub.add_parser("example", help="print docs/AGENTS.md's worked example")
    args = parser.parse_args(argv)
    return {"keygen": cmd_keygen, "pay": cmd_pay, "example": cmd_example}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
