"""The caller's own security: their sessions (list, end) and their security history."""
