"""Write the JSON Schema of every event Clochette reads or writes, for producers' teams.

python -m shared.events.export      (or: make schemas)
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.events.registry import platform_registry, user_events_registry

SCHEMA_DIR = Path(__file__).parent / "schemas"


def rendered_schemas() -> dict[str, str]:
    """File name → JSON text of each event schema, deterministic."""
    files: dict[str, str] = {}
    for registry in (platform_registry(), user_events_registry()):
        for key, model_schema in registry.json_schemas().items():
            event_type, version = key.split("@")
            document = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"https://clochette.dev/schemas/events/{event_type}.v{version}.json",
                **model_schema,
            }
            files[f"{event_type}.v{version}.json"] = json.dumps(document, indent=2) + "\n"
    return files


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered_schemas().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas():
        print(path)  # noqa: T201
