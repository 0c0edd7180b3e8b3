"""Identity adapters: checking identity providers' signed tokens (JWTs) against their
published keys, and the relying-party side of OpenID Connect sign-in."""
