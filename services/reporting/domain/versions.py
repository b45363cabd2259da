"""What changed between two published versions of the report: every figure as a path (e.g.
`per_region[N].registrations`) with its value before and after. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Fields that name an item in a list, so that a figure keeps its path when the list's order changes.
_IDENTITY = ("region", "question_id", "service", "title", "name")


def _ident(item: Mapping[str, Any], index: int) -> str:
    if "category" in item and "value" in item:
        return f"{item['category']}={item['value']}"
    for key in _IDENTITY:
        if item.get(key) not in (None, ""):
            return str(item[key])
    return str(index)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """{path: scalar} for every figure in `value` (a summary as JSON)."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for k in sorted(value):
            out.update(flatten(value[k], f"{path}.{k}" if path else str(k)))
    elif isinstance(value, list) and value and all(isinstance(x, Mapping) for x in value):
        for i, item in enumerate(value):
            out.update(flatten(item, f"{path}[{_ident(item, i)}]"))
    elif isinstance(value, list):
        out[path] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        out[path] = value
    return out


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """[{figure, before, after}] for each figure added, removed or changed, in path order."""
    a, b = flatten(before), flatten(after)
    return [{"figure": k, "before": a.get(k), "after": b.get(k)}
            for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
