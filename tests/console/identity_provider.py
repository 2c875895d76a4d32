"""A minimal OpenID Connect provider for the console's sign-in tests: the external system the
console talks to, served over real HTTP on a local port (Litestar under uvicorn in a thread).

It implements what the authorization-code flow with PKCE needs and checks what a real provider
checks: discovery, a JWKS with an RS256 key, ``/authorize`` (client id, redirect URI, S256 code
challenge, openid scope) answering with a one-time code, and ``/token`` (client secret, code
used once, same redirect URI, ``S256(code_verifier) == code_challenge``) answering with an ID
token signed by its key, and RP-initiated logout at ``/logout`` (an ``id_token_hint`` it signed
for this client, a registered ``post_logout_redirect_uri``; ``offers_logout=False`` leaves the
endpoint out of discovery). ``user`` is who signs in next; ``id_token_changes`` and ``sign_with``
let a test make the provider misbehave (a wrong nonce or audience, a key not published).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from litestar import Litestar, Request, get, post
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Response

from tests.support.server import free_port

CLIENT_ID = "scheduler-console"
CLIENT_SECRET = "console-secret-at-the-idp"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class IdentityProvider:
    issuer: str
    redirect_uri: str
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    user: dict[str, Any] = field(default_factory=dict)
    id_token_changes: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    logout_requests: list[dict[str, str]] = field(default_factory=list)
    offers_logout: bool = True
    post_logout_uri: str = ""

    def app(self) -> Litestar:
        provider = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/authorize",
                "token_endpoint": f"{provider.issuer}/token",
                "jwks_uri": f"{provider.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                **(
                    {"end_session_endpoint": f"{provider.issuer}/logout"}
                    if provider.offers_logout
                    else {}
                ),
            }

        @get("/logout")
        async def logout(request: Request[Any, Any, Any]) -> Redirect:
            query = dict(request.query_params)
            provider.logout_requests.append(query)
            try:
                hint = jwt.decode(query.get("id_token_hint", ""), provider.key)
            except ValueError as exc:
                raise HTTPException(status_code=400, detail="invalid id_token_hint") from exc
            if (
                hint.claims.get("aud") != CLIENT_ID
                or query.get("client_id") != CLIENT_ID
                or query.get("post_logout_redirect_uri") != provider.post_logout_uri
            ):
                raise HTTPException(status_code=400, detail="invalid_request")
            return Redirect(provider.post_logout_uri, status_code=302)

        @get("/jwks")
        async def jwks() -> dict[str, Any]:
            return KeySet([provider.key]).as_dict(private=False)

        @get("/authorize")
        async def authorize(request: Request[Any, Any, Any]) -> Redirect:
            query = dict(request.query_params)
            provider.authorize_requests.append(query)
            if (
                query.get("response_type") != "code"
                or query.get("client_id") != CLIENT_ID
                or query.get("redirect_uri") != provider.redirect_uri
                or query.get("code_challenge_method") != "S256"
                or not query.get("code_challenge")
                or "openid" not in query.get("scope", "").split()
            ):
                raise HTTPException(status_code=400, detail="invalid_request")
            code = secrets.token_urlsafe(16)
            provider.codes[code] = {**query, "user": dict(provider.user)}
            answer = {"code": code, "state": query.get("state", "")}
            return Redirect(f"{provider.redirect_uri}?{urlencode(answer)}", status_code=302)

        @post("/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> Response[Any]:
            form = dict(await request.form())
            provider.token_requests.append({k: str(v) for k, v in form.items()})
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return Response({"error": "invalid_client"}, status_code=401)
            grant = provider.codes.pop(str(form.get("code")), None)
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant["redirect_uri"]
                or s256(str(form.get("code_verifier", ""))) != grant["code_challenge"]
            ):
                return Response({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": provider.issuer,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": grant.get("nonce"),
                **grant["user"],
                **provider.id_token_changes,
            }
            signer = provider.sign_with or provider.key
            header = {"alg": "RS256", "kid": signer.kid}
            body = {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": jwt.encode(header, claims, signer),
            }
            return Response(body, headers={"Cache-Control": "no-store"})

        return Litestar([discovery, jwks, authorize, token, logout])


@contextmanager
def running_provider(redirect_uri: str, post_logout_uri: str) -> Iterator[IdentityProvider]:
    port = free_port()
    provider = IdentityProvider(
        f"http://127.0.0.1:{port}", redirect_uri, post_logout_uri=post_logout_uri
    )
    server = uvicorn.Server(
        uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the identity provider did not start")
        time.sleep(0.05)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
