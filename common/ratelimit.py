"""Rate limits kept in the shared cache: DRF throttles of the API and the portal's login and password reset.

Every limit counts per client address (`common.net.client_ip`), whatever `X-Forwarded-For` says.
When the cache cannot be reached, limits guarding credentials fail closed (`CacheUnavailable`,
answered 503) and the public simulator fails open with a logged warning.
"""

import logging
import time

from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

from common.net import client_ip

logger = logging.getLogger(__name__)


class CacheUnavailable(Exception):
    """The cache holding the counters does not answer (answered 503 by common.middleware)."""


def _key(scope, key, period):
    return f"ratelimit:{scope}:{key}:{int(time.time() // period)}"


def count(scope, key, *, period):
    """Events counted so far in the current window. Raises CacheUnavailable."""
    try:
        return cache.get(_key(scope, key, period), 0)
    except Exception as error:
        raise CacheUnavailable(str(error)) from error


def hit(scope, key, *, limit, period):
    """Count one event for (scope, key) in a fixed window of `period` seconds; True when over `limit`.

    Raises CacheUnavailable when the cache does not answer.
    """
    cache_key = _key(scope, key, period)
    try:
        cache.add(cache_key, 0, timeout=period + 1)
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: a new window
        count = 1
        try:
            cache.set(cache_key, 1, timeout=period + 1)
        except Exception as error:
            raise CacheUnavailable(str(error)) from error
    except Exception as error:  # the cache backend's own error type (redis, memcached, …)
        raise CacheUnavailable(str(error)) from error
    return count > limit


class AddressRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, keyed by `client_ip`, failing closed when the cache is down."""

    fail_open_scopes = frozenset({"simulate"})

    def get_ident(self, request):
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as error:
            scope = getattr(view, self.scope_attr, None)
            if scope in self.fail_open_scopes:
                logger.warning("cache unavailable, %s not throttled for %s: %s", scope, client_ip(request), error)
                return True
            logger.error("cache unavailable, %s refused for %s: %s", scope, client_ip(request), error)
            raise CacheUnavailable(str(error)) from error
