"""Staying logged in: sessions (refresh token families), access tokens and signing keys."""
