"""Recruitment's HTTP API, one module per feature (assemblies, invitations, registration, members,
waves, privacy, stipends); here the rate limits shared by the public flows whose credential is a
code from a letter."""

from __future__ import annotations

from fastapi import Request

from shared.errors import ApiError
from shared.runtime import Runtime


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit_public(rt: Runtime, request: Request, code: str, *, per_code: int) -> str:
    """Rate limits of the flows whose credential is a code from a letter: per address, globally,
    per address for refused codes, and per code. Returns the client address."""
    s = rt.settings
    ip, window = client_ip(request), s.register_window_seconds
    await rt.limiter.hit("registration", "global", limit=s.register_limit_global, window=window)
    await rt.limiter.hit("registration", ip, limit=s.register_limit_per_ip, window=window)
    if await rt.limiter.peek("failed_code", ip) >= s.register_failures_per_ip:
        raise ApiError(429, f"too many unknown or used codes from this address; try again in {window} s",
                       headers={"Retry-After": str(window)})
    await rt.limiter.hit("code", code.upper().replace("-", "").replace(" ", ""), limit=per_code, window=window * 60)
    return ip


async def count_refusal(rt: Runtime, ip: str) -> None:
    s = rt.settings
    await rt.limiter.hit("failed_code", ip, limit=s.register_failures_per_ip + 1_000_000, window=s.register_window_seconds)
