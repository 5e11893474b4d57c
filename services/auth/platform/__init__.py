"""What every capability leans on: outbox and relay, events, audit, housekeeping, settings,
sealing of secrets."""
