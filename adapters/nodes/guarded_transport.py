"""An httpx client whose every TCP connection goes through the network guard.

Why a network backend and not a check before the request: a check that resolves the
host and then lets httpx resolve it again can be fooled by DNS rebinding (public address
on the first lookup, 127.0.0.1 on the second). httpcore hands its network backend the
host and port of every new connection, including redirects and keep-alive refills, so the
backend resolves once, checks every address, and connects to one of those same IP
literals. TLS still verifies against the original host name, because httpcore takes the
server name from the request's origin, not from the address we connect to. Checking the
peer address after connecting would be too late: the SYN would already have gone out.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from adapters.nodes.network_guard import NetworkGuard

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks each host with the guard, then connects to a checked address."""

    def __init__(
        self, guard: NetworkGuard, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None  # getaddrinfo never answers an empty list
        raise last_error

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            async with asyncio.timeout(timeout):
                return await self._guard.resolve(host, port)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        except socket.gaierror as error:
            raise httpcore.ConnectError(f"could not resolve {host}: {error.strerror}") from error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("nodes may not connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with the connection pool built on the guarded backend.

    httpx does not let callers choose the pool's network backend, so this replaces the
    pool it built. `_pool` is the attribute httpx's transport sends every request through;
    the tests for the guard fail loudly if a future httpx renames it.
    """

    def __init__(
        self,
        guard: NetworkGuard,
        *,
        inner_backend: httpcore.AsyncNetworkBackend | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        # One SSL context for both pools: loading the CA bundle costs tens of milliseconds
        # of CPU, and the pool httpx builds here is replaced at once.
        ssl_context = httpx.create_ssl_context()
        # Proxies from the environment would make the proxy, not the guard, pick the address.
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(guard, inner_backend),
        )


def guarded_client(
    guard: NetworkGuard,
    *,
    inner_backend: httpcore.AsyncNetworkBackend | None = None,
    limits: httpx.Limits = DEFAULT_LIMITS,
) -> httpx.AsyncClient:
    """The client every network node shares: guarded, no environment proxies, and no
    redirects of its own (`http_request` follows them hop by hop, each hop a request
    through this client, so its rules for methods and credentials are the node's)."""
    transport = GuardedTransport(guard, inner_backend=inner_backend, limits=limits)
    # No cookie jar: the client serves every execution of every workspace on the worker,
    # and a cookie one server set for one of them must never ride along on another's call.
    return httpx.AsyncClient(
        transport=transport, follow_redirects=False, trust_env=False, cookies=_NoCookies()
    )


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing (a `Cookie` header the node sets still goes out)."""

    def __init__(self) -> None:
        super().__init__(policy=DefaultCookiePolicy(allowed_domains=[]))
