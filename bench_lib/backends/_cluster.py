"""What the Ray and Dask backends share: reaching an existing cluster by address."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from bench_lib.backends.base import BackendError

CONNECT_TIMEOUT = 5.0


def check_reachable(backend: str, variable: str, address: str) -> None:
    """Fail within seconds, with the variable to fix, when nothing listens at ``address``.

    Engines' own clients retry for a minute or more before giving up on a dead address.
    """
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise BackendError(f"{backend}: {variable}={address!r} is not host:port")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise BackendError(
            f"{backend}: cannot reach the cluster at {variable}={address} ({exc}); "
            f"start it, or unset {variable} to use a local one"
        ) from None
