"""Async Redis/Valkey client and an atomic fixed-window rate limiter."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shared.errors import ApiError

_INCR_EXPIRE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('TTL', KEYS[1])}
"""


def make_redis(url: str, timeout: float = 1.0) -> Redis:
    """Timeouts chosen, not inherited: a rate-limit check takes well under a millisecond, so a
    cache that has not answered within `timeout` (hung, overloaded, cut off) is unavailable. One
    immediate retry (a dropped pooled connection), then the request gets a 503 with Retry-After
    (shared/errors.py) instead of waiting out redis-py's default backoff and retries."""
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30,
                          retry=Retry(NoBackoff(), 1))


def opaque(value: str) -> str:
    """Keys never hold raw codes or IPs: a short hash is enough to count by."""
    return hashlib.sha256(value.encode()).hexdigest()[:24]


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_INCR_EXPIRE)

    async def hit(self, bucket: str, key: str, *, limit: int, window: int) -> None:
        """Count one request; raise 429 with Retry-After when the bucket is over its limit."""
        count, ttl = await self._script(keys=[f"{self.prefix}:{bucket}:{opaque(key)}"], args=[window])
        if int(count) > limit:
            retry = max(1, int(ttl))
            raise ApiError(
                429,
                f"too many {bucket.replace('_', ' ')} attempts; try again in {retry} s",
                headers={"Retry-After": str(retry)},
            )

    async def peek(self, bucket: str, key: str) -> int:
        value = await self.redis.get(f"{self.prefix}:{bucket}:{opaque(key)}")
        return int(value or 0)
