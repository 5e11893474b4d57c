"""How much the fuzz tests do, from the environment: small and reproducible in `make test`,
as large and random as a long run wants (docs/testing.md)."""

from __future__ import annotations

import os

# Schemathesis examples per operation (positive and negative together).
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
# Examples of the in-process parsing property: each costs well under a millisecond.
PARSE_EXAMPLES = int(os.environ.get("FUZZ_PARSE_EXAMPLES", "0")) or 25 * FUZZ_EXAMPLES
# Records drawn for the end-to-end Kafka corpus, besides the named ones.
FUZZ_RECORDS = 5 * FUZZ_EXAMPLES
# FUZZ_RANDOM=1: new inputs on every run (soaks); by default the same inputs every time.
DERANDOMIZE = os.environ.get("FUZZ_RANDOM", "").lower() not in ("1", "true", "yes")
