"""A local identity provider's public side for tests: signing keys, the discovery
document and key set it serves, and JWTs signed with its keys."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.support.fake_servers import Answer, BackgroundServer, RecordedRequest, json_answer


@dataclass(frozen=True)
class SigningKey:
    """A private key, its kid, and the public JWK an issuer publishes for it."""

    kid: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    algorithm: str

    @property
    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            document = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            document = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**document, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, ec.generate_private_key(ec.SECP256R1()), "ES256")


KEY_A = rsa_key("key-a")
KEY_B = rsa_key("key-b")
KEY_EC = ec_key("key-ec")


class IssuerServer(BackgroundServer):
    """An identity provider's public side: its discovery document and its key set (at
    `/jwks.json`, and at Supabase's `/auth/v1/.well-known/jwks.json`)."""

    def __init__(self, keys: list[SigningKey]) -> None:
        super().__init__()
        self.keys = keys

    @property
    def issuer(self) -> str:
        return self.url

    def fetches(self, path: str) -> int:
        with self._lock:
            return sum(1 for request in self.requests if request.path == path)

    @property
    def jwks_fetches(self) -> int:
        return self.fetches("/jwks.json") + self.fetches("/auth/v1/.well-known/jwks.json")

    def answer(self, request: RecordedRequest) -> Answer:
        if request.path == "/.well-known/openid-configuration":
            return json_answer(200, {"issuer": self.issuer, "jwks_uri": f"{self.url}/jwks.json"})
        if request.path in ("/jwks.json", "/auth/v1/.well-known/jwks.json"):
            return json_answer(200, {"keys": [key.jwk for key in self.keys]})
        return json_answer(404, {"error": "not found"})


def sign(payload: dict[str, Any], key: SigningKey = KEY_A, **header: Any) -> str:
    return jwt.encode(
        payload, key.private, algorithm=key.algorithm, headers={"kid": key.kid, **header}
    )


def person_token(
    server: IssuerServer,
    audience: str,
    subject: str,
    email: str | None = None,
    key: SigningKey = KEY_A,
    lifetime: int = 300,
    **claims: Any,
) -> str:
    """A JWT for a person with a verified `email`, valid for `lifetime` seconds from now."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": server.issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "name": subject.title(),
        **({"email": email, "email_verified": True} if email else {}),
        **claims,
    }
    return sign(payload, key)
