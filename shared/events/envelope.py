"""The one envelope every event travels in.

Topic = `<source>.<type>.v<version>`, key = the assembly id (`subject`), so one assembly's
events of one type stay in order.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="Unique event id; consumers deduplicate on it")
    type: str = Field(description="Event type, e.g. panel-drawn")
    version: int = Field(ge=1, description="Major version of the payload contract")
    source: str = Field(description="Service that published the event")
    time: datetime
    subject: uuid.UUID = Field(description="The assembly the event belongs to (also the Kafka key)")
    region: str | None = None
    correlation_id: str | None = None
    payload: dict[str, Any]

    @property
    def topic(self) -> str:
        return f"{self.source}.{self.type}.v{self.version}"


def new_event(
    payload: BaseModel,
    *,
    subject: uuid.UUID,
    correlation_id: str | None = None,
    region: str | None = None,
) -> Envelope:
    """Wrap a contract payload in an envelope (type, version and source come from the catalogue)."""
    from shared.events.contracts import spec_for_model

    spec = spec_for_model(type(payload))
    return Envelope(
        id=uuid.uuid4(),
        type=spec.type,
        version=spec.version,
        source=spec.source,
        time=datetime.now(timezone.utc),
        subject=subject,
        region=region,
        correlation_id=correlation_id,
        payload=payload.model_dump(mode="json"),
    )
