"""Async Redis/Valkey client and an atomic fixed-window rate limiter."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from shared.errors import ApiError

_INCR_EXPIRE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('TTL', KEYS[1])}
"""


def make_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


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
