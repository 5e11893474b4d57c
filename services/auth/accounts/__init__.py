"""Users, organisations, the caller's profile, passwords: their rules, hashing and meter."""
