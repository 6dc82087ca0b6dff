"""API throttles, counted in the cache (Redis) so that every web process counts the same.

- Anonymous requests per client address (API_ANON_RATE), signed-in ones per user (API_USER_RATE).
- Failed token authentications per client address: past the rate, every token request of that
  client gets a 429 until the window has moved on, right token or not. A guesser is slowed to the
  rate; a script with a good token never fails, so never counts.

The client address is REMOTE_ADDR, which core.addresses resolved (DRF's NUM_PROXIES is 0, so DRF
reads nothing else)."""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class AvailableAnonRateThrottle(AnonRateThrottle):
    """DRF's anonymous throttle, which lets requests through while Redis (its cache) is away: a
    Redis outage must not turn the public read API into 500s."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as error:
            logger.warning("throttle_unavailable scope=anon error=%r", str(error))
            return True


class AvailableUserRateThrottle(UserRateThrottle):
    """Signed-in users (session or token), per user, at API_USER_RATE: far above what the dashboard
    makes, so that only a runaway script meets it. Anonymous requests are the anon throttle's."""

    def allow_request(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return True
        try:
            return super().allow_request(request, view)
        except RedisError as error:
            logger.warning("throttle_unavailable scope=user error=%r", str(error))
            return True


class TokenFailureThrottle(SimpleRateThrottle):
    """The rate of failed token authentications a client may make (API_TOKEN_FAILURE_RATE), counted
    in fixed windows of the rate's period with one atomic increment per failure: clients failing at
    once from many processes are all counted."""

    scope = "token_failure"
    cache = cache
    # Set from the rate by SimpleRateThrottle.__init__ (its stubs do not declare them).
    num_requests: int
    duration: int

    def get_cache_key(self, request, view=None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _window(self, request, now: float) -> tuple[str, float]:
        """This window's counter key and the moment the window ends."""
        start = now - now % self.duration
        return f"{self.get_cache_key(request)}:{int(start)}", start + self.duration

    def retry_after(self, request) -> float | None:
        """Seconds until this client may try a token again, or None if it may now (also while Redis,
        the cache, is away: a good token must keep working through an outage)."""
        now = time.time()
        key, window_end = self._window(request, now)
        try:
            failures = self.cache.get(key, 0)
        except RedisError as error:
            logger.warning("throttle_unavailable scope=token_failure error=%r", str(error))
            return None
        if failures < self.num_requests:
            return None
        return max(1.0, window_end - now)

    def failure_record(self, request) -> None:
        key, _ = self._window(request, time.time())
        try:
            # add() creates the counter with its expiry only if absent; incr() is Redis' INCRBY.
            self.cache.add(key, 0, self.duration + 1)
            self.cache.incr(key)
        except (RedisError, ValueError) as error:  # ValueError: the key expired between the two
            logger.warning("throttle_unavailable scope=token_failure error=%r", str(error))

    def failures_count(self, request) -> int:
        """Failures counted for this client in the current window."""
        return self.cache.get(self._window(request, time.time())[0], 0)

    def failures_forget(self, request) -> None:
        """Drop this client's count (the window moving on, without waiting for it)."""
        self.cache.delete(self._window(request, time.time())[0])


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's token authentication against our hashed, expiring tokens (core.models.ApiToken), with failed
    attempts throttled per client."""

    def authenticate_credentials(self, key):
        from core.selectors import access_token_user

        user = access_token_user(key=key)
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        return (user, None)

    def authenticate(self, request):
        if not self._token_sent(request):
            return None
        throttle = TokenFailureThrottle()
        if (wait := throttle.retry_after(request)) is not None:
            # DRF adds "Expected available in N seconds." (and the Retry-After header).
            raise Throttled(wait=wait, detail="too many failed token authentications from this client.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            throttle.failure_record(request)
            raise

    def _token_sent(self, request) -> bool:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        return header.split(" ", 1)[0].lower() == self.keyword.lower()
