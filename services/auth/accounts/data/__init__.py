"""Data files shipped with the auth service, and the script that builds them."""
