"""A stand-in for the auth service's token side, for tests and benchmarks of the services that
verify its tokens: Ed25519 signing keys, their JWKS document served over loopback HTTP, and
access tokens minted the way the auth service mints them (every claim of REQUIRED_CLAIMS).

Not used by any service at run time; it lives here so that `tests/` and `bench/` share one copy
without the benchmark importing the test suite.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from shared.tokens import ALGORITHM, AUDIENCE, ISSUER, JWKS_PATH


@dataclass
class SigningKey:
    kid: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(OKPAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


class JwksServer:
    """A JWKS endpoint on a real loopback socket; tests switch its keys and its failures."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = list(keys)
        self.failing = False
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if server.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps({"keys": [k.jwk() for k in server.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{JWKS_PATH}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def mint(
    key: SigningKey,
    user_id: uuid.UUID,
    *,
    org: uuid.UUID | None = None,
    lang: str = "en",
    lifetime: int = 600,
    issued_at: float | None = None,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """An access token as the auth service issues it (overridable claim by claim)."""
    now = int(issued_at if issued_at is not None else time.time())
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "org": str(org or uuid.uuid4()),
        "role": "member",
        "lang": lang,
        "amr": ["pwd"],
        "iat": now,
        "exp": now + lifetime,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
        "sid": str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode(
        payload, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, **(headers or {})}
    )
