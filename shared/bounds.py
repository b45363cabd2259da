"""Bounded integers for the edge (request bodies, paths, queries): Python's int has no limit,
PostgreSQL's bigint and the domain's counts do. An unbounded integer input is refused by
tests/integration/test_hardening.py (shared/openapi.py: `unbounded_integers`)."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
BigInt = Annotated[int, Interval(ge=BIGINT_MIN, le=BIGINT_MAX)]  # what a PostgreSQL bigint holds
SmallInt = Annotated[int, Interval(ge=-(2**31), le=2**31 - 1)]  # points on a scale, ranks, small counts
