"""How a Ray runtime is started or joined here: Ray's settings it reads once per process, and
the daemons a local runtime does without. Apart from bench_lib.backends.ray, which uses them."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def lean_start():
    """A local runtime without the two daemons a benchmark has no use for: the autoscaler's
    monitor (a local runtime never scales) and the log monitor (log_to_driver=False). ray.init
    has no option for them; ``ray start`` has (--no-monitor, --include-log-monitor) through
    the RayParams it builds, where they are set here, for this start only."""
    from ray._private import parameter

    original = parameter.RayParams.__init__

    def lean(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.no_monitor, self.include_log_monitor = True, False

    parameter.RayParams.__init__ = lean
    try:
        yield
    finally:
        parameter.RayParams.__init__ = original


def reread_auth_settings() -> None:
    """Make Ray read ``RAY_AUTH_MODE`` and the token from the environment as it is now.

    Ray reads them once per process, when first imported, and caches them: a process that
    imported Ray before these were set (a failed connection, an earlier ``ray.init()``)
    would otherwise connect without the token its cluster (or the daemons it starts) want,
    and fail with ``InvalidAuthToken``. Ray's own tests reset it so
    (``ray._private.authentication_test_utils.reset_auth_token_state``).
    """
    from ray import _raylet

    loader = getattr(_raylet, "AuthenticationTokenLoader", None)  # older Ray: no token auth
    if loader is not None:
        _raylet.Config.initialize("")  # first: a draining thread may reload the token from it
        loader.instance().reset_cache()
