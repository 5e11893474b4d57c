"""Two-factor authentication: the code check, TOTP, recovery codes, phone confirmation by SMS."""
