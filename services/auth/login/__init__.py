"""Logging in: the Login use case (password, second factor, session start) and the throttle."""
