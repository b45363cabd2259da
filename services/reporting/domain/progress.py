"""Where an assembly's process stands, from the figures reporting counted from events: the six
steps (recruitment -> pool -> draw -> sessions -> voting -> report), each done, current or to do,
and what the secretariat does next. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STEPS = ("recruitment", "pool", "draw", "sessions", "voting", "report")


def steps(summary: Mapping[str, Any], *, published: bool) -> list[dict[str, str]]:
    """[{"step", "state": done | current | todo}] in process order; the first step not done is
    current (none once the report is published)."""
    done = {
        "recruitment": summary["invitations_sent"] > 0,
        "pool": summary["registrations"] > 0 and summary["selection"] is not None,
        "draw": summary["panel_size"] > 0,
        "sessions": summary["sessions_held"] > 0,
        "voting": summary["recommendations_tallied"] > 0,
        "report": published,
    }
    out, current_given = [], False
    for step in STEPS:
        if done[step] and not current_given:
            state = "done"
        elif not current_given:
            state, current_given = "current", True
        else:
            state = "done" if done[step] else "todo"
        out.append({"step": step, "state": state})
    return out


def current_step(progress: list[dict[str, str]]) -> str | None:
    return next((p["step"] for p in progress if p["state"] == "current"), None)
