"""Recruitment's writes, one module per feature: each command runs in one transaction with the
events it causes and its audit entry. Here a helper they share."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY


def _array(values: list, item_type) -> sa.BindParameter:
    """One array parameter instead of one parameter per value (PostgreSQL caps those at 32767)."""
    return sa.bindparam(None, values, type_=ARRAY(item_type))
