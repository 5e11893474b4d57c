"""The HTTP layer: Litestar handlers per capability, their bodies and dependencies."""
