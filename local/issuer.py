"""A token issuer for the local stack and tests: an RSA key, its JWKS on disk, RS256 ID tokens.

Never deployed. Tokens look like Cognito ID tokens so the verification path is the production one.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chat.topology import ENV_JWKS_URL, ENV_JWT_AUDIENCE, ENV_JWT_ISSUER

LOCAL_ISSUER = "http://chat.local/issuer"
LOCAL_AUDIENCE = "chat-local"


class LocalIssuer:
    def __init__(self, key_dir: Path, issuer: str = LOCAL_ISSUER, audience: str = LOCAL_AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = uuid.uuid4().hex[:16]
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        key_dir.mkdir(parents=True, exist_ok=True)
        self.jwks_path = key_dir / "jwks.json"
        self.jwks_path.write_text(json.dumps({"keys": [jwk]}))

    @property
    def jwks_url(self) -> str:
        return self.jwks_path.resolve().as_uri()

    def env(self) -> dict[str, str]:
        """The variables the authorizer reads, pointing at this issuer."""
        return {ENV_JWT_ISSUER: self.issuer, ENV_JWT_AUDIENCE: self.audience, ENV_JWKS_URL: self.jwks_url}

    def issue(self, user_id: str, ttl_s: int = 12 * 3600, **overrides: object) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": user_id,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl_s,
            "token_use": "id",
            "cognito:username": user_id,
        }
        claims.update(overrides)
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
