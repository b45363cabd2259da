"""Event envelope and the versioned event contracts every service shares."""

from shared.events.envelope import Envelope, new_event
from shared.events.contracts import CATALOGUE, EventSpec, spec_for_type, spec_for_topic

__all__ = ["Envelope", "new_event", "CATALOGUE", "EventSpec", "spec_for_type", "spec_for_topic"]
