"""Sign-in with the city's identity provider: OpenID Connect authorization code with PKCE.

``/console/oidc/start`` keeps a fresh ``state``, ``nonce`` and PKCE ``code_verifier`` in the
(server-side) session and sends the browser to the provider's authorization endpoint with the
S256 code challenge. ``/console/oidc/callback`` accepts only the ``state`` it issued (once),
exchanges the code with the verifier at the token endpoint, verifies the ID token's
signature against the provider's published keys and its issuer, audience, expiry and nonce
(Authlib's OpenID Connect claims), maps its claims to a role exactly as the API maps a token's
(``principal_from_claims``; the role and partner claims are named by settings), and starts the
signed-in session under a new session key.

The provider's discovery document and keys are read once per process and cached; keys are
read again when an ID token names a key id not seen yet (key rotation).

``/console/sign-out`` ends the console session at once and, for a session begun at the
provider whose discovery document names an ``end_session_endpoint``, sends the browser there
too (OpenID Connect RP-initiated logout: ``id_token_hint``, ``client_id`` and
``post_logout_redirect_uri`` back to the sign-in page), so the next sign-in asks again.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect

from scheduler.auth.tokens import principal_from_claims
from scheduler.console.auth import ANONYMOUS, ID_TOKEN_KEY, sign_in
from scheduler.console.rendering import language_of
from scheduler.console.signin import safe_next
from scheduler.errors import Forbidden, Unauthenticated
from scheduler.settings import Settings

PENDING_KEY = "oidc"
PENDING_SECONDS = 600
METADATA_SECONDS = 3600
STATE_NAME = "console_oidc_provider"
ALGORITHMS = ("RS256", "ES256", "PS256")
TIMEOUT = httpx.Timeout(10.0)


def callback_url(settings: Settings) -> str:
    return f"{settings.public_url}/console/oidc/callback"


def signed_out_url(settings: Settings) -> str:
    """Where the provider sends the browser back after signing out (register it there)."""
    return f"{settings.public_url}/console/sign-in"


class Provider:
    """The identity provider's discovery document and signing keys, cached."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._metadata: dict[str, Any] | None = None
        self._read_at = 0.0
        self._keys: KeySet | None = None

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.get(url)
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthenticated("The identity provider cannot be reached.") from exc
        if not isinstance(body, dict):
            raise Unauthenticated("The identity provider answered with something unexpected.")
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._read_at > METADATA_SECONDS:
            issuer = self.settings.oidc_issuer
            found = await self._get_json(f"{issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != issuer:
                raise Unauthenticated("The identity provider's discovery names another issuer.")
            for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(endpoint), str):
                    raise Unauthenticated(f"The identity provider's discovery lacks {endpoint}.")
            self._metadata, self._read_at, self._keys = found, time.monotonic(), None
        return self._metadata

    async def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self.metadata()
            self._keys = KeySet.import_key_set(await self._get_json(metadata["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys

    def authorization_url(self, endpoint: str, state: str, nonce: str, verifier: str) -> str:
        settings = self.settings
        return str(
            add_params_to_uri(
                endpoint,
                [
                    ("response_type", "code"),
                    ("client_id", settings.oidc_client_id),
                    ("redirect_uri", callback_url(settings)),
                    ("scope", settings.oidc_scopes),
                    ("state", state),
                    ("nonce", nonce),
                    ("code_challenge", create_s256_code_challenge(verifier)),
                    ("code_challenge_method", "S256"),
                ],
            )
        )

    async def logout_url(self, id_token: str) -> str | None:
        """The provider's end-session address for this sign-in, or None if it has none."""
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            return None
        return str(
            add_params_to_uri(
                endpoint,
                [
                    ("id_token_hint", id_token),
                    ("client_id", self.settings.oidc_client_id),
                    ("post_logout_redirect_uri", signed_out_url(self.settings)),
                ],
            )
        )

    async def exchange(self, code: str, verifier: str) -> dict[str, Any]:
        """The token endpoint's answer to the code and its PKCE verifier (the client
        authenticates with HTTP Basic when it has a secret, else it is a public client)."""
        settings = self.settings
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback_url(settings),
            "code_verifier": verifier,
        }
        auth = None
        if settings.oidc_client_secret:
            auth = httpx.BasicAuth(settings.oidc_client_id, settings.oidc_client_secret)
        else:
            form["client_id"] = settings.oidc_client_id
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.post(
                    metadata["token_endpoint"],
                    data=form,
                    auth=auth or httpx.USE_CLIENT_DEFAULT,
                    headers={"Accept": "application/json"},
                )
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthenticated("The identity provider cannot be reached.") from exc
        if response.status_code != 200 or not isinstance(body, dict) or "error" in body:
            error = body.get("error") if isinstance(body, dict) else None
            raise Unauthenticated(
                f"The identity provider did not accept the authorization code ({error})."
            )
        return body

    async def verified_claims(self, token: dict[str, Any], nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, times and nonce hold."""
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise Unauthenticated("The identity provider returned no ID token.")
        metadata = await self.metadata()
        algorithms = [
            alg
            for alg in metadata.get("id_token_signing_alg_values_supported", ["RS256"])
            if alg in ALGORITHMS
        ] or ["RS256"]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                decoded = jwt.decode(id_token, await self.keys(), registry=registry)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, await self.keys(refresh=True), registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {"iss": {"essential": True, "values": [self.settings.oidc_issuer]}},
                {
                    "nonce": nonce,
                    "client_id": self.settings.oidc_client_id,
                    "access_token": token.get("access_token"),
                },
            )
            claims.validate(leeway=self.settings.jwt_leeway_seconds)
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(f"The ID token was refused: {exc}") from exc
        return dict(claims)


def provider(request: Request[Any, Any, Any]) -> Provider:
    settings = request.app.state.settings
    if not settings.oidc_issuer:
        raise Forbidden("Sign-in with an identity provider is not configured.")
    found = request.app.state.get(STATE_NAME)
    if found is None:
        found = Provider(settings)
        request.app.state[STATE_NAME] = found
    assert isinstance(found, Provider)
    return found


@get("/oidc/start", opt=ANONYMOUS, name="console:oidc-start")
async def oidc_start(
    request: Request[Any, Any, Any], next_path: FromQuery[str | None] = None
) -> Redirect:
    """Send the browser to the identity provider, with a new state, nonce and PKCE pair."""
    idp = provider(request)
    metadata = await idp.metadata()
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    url = idp.authorization_url(metadata["authorization_endpoint"], state, nonce, verifier)
    # Starting a sign-in ends the one before: only the language is kept.
    session = request.session if request.scope.get("session") else {}
    request.set_session(
        {
            **({"lang": session["lang"]} if "lang" in session else {}),
            PENDING_KEY: {
                "state": state,
                "nonce": nonce,
                "verifier": verifier,
                "next": safe_next(next_path or request.query_params.get("next")),
                "at": time.time(),
            },
        }
    )
    return Redirect(url, status_code=302)


@get("/oidc/callback", opt=ANONYMOUS, name="console:oidc-callback")
async def oidc_callback(
    request: Request[Any, Any, Any],
    code: FromQuery[str | None] = None,
    error: FromQuery[str | None] = None,
) -> Redirect:
    """The provider's answer: checked, exchanged, mapped to a role, signed in."""
    idp = provider(request)
    state = request.query_params.get("state")
    session = dict(request.session) if request.scope.get("session") else {}
    pending = session.pop(PENDING_KEY, None)
    # The pending sign-in is used once, whatever happens next.
    request.set_session(session) if session else request.clear_session()
    if not isinstance(pending, dict) or time.time() - float(pending["at"]) > PENDING_SECONDS:
        raise Unauthenticated("No sign-in is under way here (or it took too long); start again.")
    if not state or not secrets.compare_digest(str(pending["state"]), state):
        raise Unauthenticated("The sign-in answer does not belong to this sign-in.")
    if error:
        raise Unauthenticated(f"The identity provider refused the sign-in: {error[:100]}.")
    if not code:
        raise Unauthenticated("The identity provider sent no authorization code.")
    token = await idp.exchange(code, str(pending["verifier"]))
    claims = await idp.verified_claims(token, str(pending["nonce"]))
    settings = request.app.state.settings
    principal = principal_from_claims(
        claims, role_claim=settings.oidc_role_claim, partner_claim=settings.oidc_partner_claim
    )
    sign_in(request, principal, language_of(request), id_token=str(token["id_token"]))
    return Redirect(str(pending["next"]), status_code=303)


@post("/sign-out", opt=ANONYMOUS, status_code=303)
async def sign_out(request: Request[Any, Any, Any]) -> Redirect:
    """End the console session now; a provider's session too when it offers RP-initiated
    logout (if the provider cannot be reached, the console session is ended all the same)."""
    session = request.session if request.scope.get("session") else {}
    id_token = session.get(ID_TOKEN_KEY)
    request.clear_session()
    target = None
    if isinstance(id_token, str) and request.app.state.settings.oidc_issuer:
        try:
            target = await provider(request).logout_url(id_token)
        except Unauthenticated:
            target = None
    return Redirect(target or "/console/sign-in", status_code=303)


OIDC_HANDLERS = [oidc_start, oidc_callback, sign_out]
