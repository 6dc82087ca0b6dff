"""Failed token authentications, counted per client in the cache (Redis): past the rate, every
token request of that client gets a 429 until the window has moved on, right token or not.
A guesser is slowed to the rate; a script with a good token never fails, so never counts."""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

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


class TokenFailureThrottle(SimpleRateThrottle):
    """The rate of failed token authentications a client may make (API_TOKEN_FAILURE_RATE)."""

    scope = "token_failure"
    cache = cache

    def get_cache_key(self, request, view=None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _history(self, key: str) -> list[float]:
        now = time.time()
        return [moment for moment in self.cache.get(key, []) if moment > now - self.duration]

    def retry_after(self, request) -> float | None:
        """Seconds until this client may try a token again, or None if it may now (also while Redis,
        the cache, is away: a good token must keep working through an outage)."""
        try:
            history = self._history(self.get_cache_key(request))
        except RedisError as error:
            logger.warning("throttle_unavailable scope=token_failure error=%r", str(error))
            return None
        if len(history) < self.num_requests:
            return None
        return max(1.0, history[-self.num_requests] + self.duration - time.time())

    def failure_record(self, request) -> None:
        key = self.get_cache_key(request)
        try:
            history = self._history(key)
            history.append(time.time())
            self.cache.set(key, history[-self.num_requests :], self.duration)
        except RedisError as error:
            logger.warning("throttle_unavailable scope=token_failure error=%r", str(error))


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, with failed attempts throttled per client."""

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
