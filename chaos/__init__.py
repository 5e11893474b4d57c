"""`make chaos`: a soak of the whole system under mixed traffic and faults, ending with the
invariants that must hold (no loss, no duplicate, badges equal to lists, every bad record
dead-lettered, no 5xx outside fault windows, flat memory, lag back to 0). See docs/chaos.md."""
