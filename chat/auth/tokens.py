"""Verifies JWTs against a JWKS: the Cognito user pool in AWS, the local issuer on a laptop.

Both go through the same code; only the issuer, audience and JWKS URL differ.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jwt

from chat.topology import ENV_JWKS_URL, ENV_JWT_AUDIENCE, ENV_JWT_ISSUER
from chat.user_ids import is_valid_user_id

# The pattern as the AsyncAPI document states it; always used with fullmatch, since `$` alone also
# matches before a trailing newline ("laptop\n").
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Cognito user pools sign with RS256; nothing else is accepted (no "none", no HMAC confusion).
ALGORITHMS = ["RS256"]


class InvalidHandshake(Exception):
    """The handshake must be refused; the message says why (for logs, never for the client)."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    device_id: str
    # The token's `exp` (epoch seconds): the connection is closed once it passes (chat/liveness.py).
    expires_at: int | None = None


@dataclass(frozen=True)
class Verified:
    user_id: str
    expires_at: int


class TokenVerifier:
    def __init__(self, issuer: str, audience: str, jwks_url: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        # PyJWKClient fetches and caches Cognito's key set over HTTPS; the local issuer's set is a file.
        self._client = (
            jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600) if jwks_url.startswith("http") else None
        )

    def _signing_key(self, token: str) -> jwt.PyJWK:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token)
        kid = jwt.get_unverified_header(token).get("kid")
        keys = jwt.PyJWKSet.from_json(Path(url2pathname(urlparse(self._jwks_url).path)).read_text())
        for key in keys.keys:
            if key.key_id == kid:
                return key
        raise jwt.PyJWKClientError(f"no key {kid!r} in the key set")

    def verify(self, token: str) -> Verified:
        """Returns the token's subject (the user id) and expiry, or raises InvalidHandshake."""
        try:
            key = self._signing_key(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                leeway=5,
            )
        except jwt.PyJWTError as exc:
            raise InvalidHandshake(f"invalid token: {exc}") from exc
        if claims.get("token_use", "id") != "id":
            raise InvalidHandshake("not an ID token")
        subject = claims["sub"]
        if not is_valid_user_id(subject):
            raise InvalidHandshake("invalid subject")
        return Verified(user_id=subject, expires_at=int(claims["exp"]))


@lru_cache(maxsize=1)
def verifier_from_env() -> TokenVerifier:
    return TokenVerifier(
        issuer=os.environ[ENV_JWT_ISSUER], audience=os.environ[ENV_JWT_AUDIENCE], jwks_url=os.environ[ENV_JWKS_URL]
    )


def verify_handshake(token: str | None, device_id: str | None, verifier: TokenVerifier | None = None) -> Identity:
    if not device_id or not DEVICE_ID.fullmatch(device_id):
        raise InvalidHandshake("missing or invalid deviceId")
    if not token:
        raise InvalidHandshake("missing token")
    verified = (verifier or verifier_from_env()).verify(token)
    return Identity(user_id=verified.user_id, device_id=device_id, expires_at=verified.expires_at)
