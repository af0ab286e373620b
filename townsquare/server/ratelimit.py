"""Rate limits for sign-in, sign-up and password changes, with the ``limits`` library.

Two limits, both over a moving 60 s window:
- per client address: ``auth_rate_limit_per_minute`` attempts (sign-in, sign-up, password change);
- per account: ``auth_failures_per_account`` *failed* sign-ins for one handle or email, whatever
  the address, so rotating addresses does not buy more guesses at one password.

The client address is the TCP peer. ``X-Forwarded-For`` is believed only from the proxies named in
``TOWNSQUARE_TRUSTED_PROXIES`` (uvicorn's proxy-headers middleware, set up by ``townsquare serve``);
by default no one is trusted, so a client cannot pick its own address.

Counters live in Redis when ``TOWNSQUARE_REDIS_URL`` is set (shared by every worker and machine),
else in the process. The limits are read from the settings on every call, so they can be changed
at run time (and in tests).
"""

from __future__ import annotations

import math
import time

from fastapi import Request
from limits import RateLimitItemPerMinute, storage, strategies

from townsquare.errors import RateLimited

FAILURE_WINDOW_MINUTES = 15


class AuthLimiter:
    def __init__(self, redis_url: str = "", prefix: str = "townsquare") -> None:
        if redis_url:
            self.storage = storage.storage_from_string(redis_url, key_prefix=f"{prefix}:limits")
        else:
            self.storage = storage.MemoryStorage()
        self.limiter = strategies.MovingWindowRateLimiter(self.storage)

    def _refuse(self, item, *keys: str) -> RateLimited:
        reset = self.limiter.get_window_stats(item, *keys).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        return RateLimited(f"too many attempts; try again in {retry} s")

    def hit_address(self, address: str, per_minute: int) -> None:
        """Count one attempt from ``address``; RateLimited when it is over ``per_minute``."""
        item = RateLimitItemPerMinute(max(1, per_minute))
        if not self.limiter.hit(item, "auth-address", address):
            raise self._refuse(item, "auth-address", address)

    def _login_item(self, failures: int):
        return RateLimitItemPerMinute(max(1, failures), FAILURE_WINDOW_MINUTES)

    def check_login(self, login: str, failures: int) -> None:
        """RateLimited when ``login`` has had ``failures`` failed sign-ins in the window."""
        item, key = self._login_item(failures), _login_key(login)
        if not self.limiter.test(item, "auth-login", key):
            raise self._refuse(item, "auth-login", key)

    def failed_login(self, login: str, failures: int) -> None:
        self.limiter.hit(self._login_item(failures), "auth-login", _login_key(login))

    def clear(self) -> None:
        self.storage.reset()


def _login_key(login: str) -> str:
    return (login or "").strip().lower().lstrip("@")[:320]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit_auth(request: Request) -> None:
    """FastAPI dependency: at most ``auth_rate_limit_per_minute`` auth attempts per address."""
    services = request.app.state.services
    services.auth_limiter.hit_address(client_address(request), int(services.settings.auth_rate_limit_per_minute))


def guarded_sign_in(request: Request, login: str, attempt):
    """Run ``attempt()`` (a sign-in for ``login``) unless the account is throttled; count a failure."""
    from townsquare.errors import Unauthorized

    services = request.app.state.services
    failures = int(services.settings.auth_failures_per_account)
    services.auth_limiter.check_login(login, failures)
    try:
        return attempt()
    except Unauthorized:
        services.auth_limiter.failed_login(login, failures)
        raise
