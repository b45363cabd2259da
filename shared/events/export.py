"""Write the JSON Schema of every event contract to shared/events/schemas/<topic>.schema.json.

    python -m shared.events.export          # rewrite the schemas
    python -m shared.events.export --check  # exit 1 if a committed schema differs from the code

Examples (shared/events/examples/<topic>.json) are written by hand and validated by the tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shared.events.contracts import CATALOGUE, EventSpec

HERE = Path(__file__).parent
SCHEMAS = HERE / "schemas"
EXAMPLES = HERE / "examples"


def schema_for(spec: EventSpec) -> dict:
    schema = spec.model.model_json_schema()
    schema["$id"] = f"borgerting:{spec.topic}"
    schema["description"] = spec.description
    return schema


def render(spec: EventSpec) -> str:
    return json.dumps(schema_for(spec), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    SCHEMAS.mkdir(exist_ok=True)
    stale = []
    for spec in CATALOGUE:
        path = SCHEMAS / f"{spec.topic}.schema.json"
        text = render(spec)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("schemas differ from the code (run python -m shared.events.export): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
