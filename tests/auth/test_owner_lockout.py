"""Owner lock-out by guessing (issue 13, point 4): re-guessing at every expiry keeps an account's
counter locked, but not the owner's known devices."""

from __future__ import annotations

from tests.auth.conftest import PASSWORD, AuthHarness
from tests.auth.test_device_tokens import ATTACKER, attempt, device_token_of


async def test_the_owner_logs_in_on_a_known_device_while_a_guesser_keeps_the_account_locked(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    owner = auth.client_from("198.51.100.77")
    token = await device_token_of(owner, "jan.peeters@example.be")
    attacker = auth.client_from(ATTACKER)
    for _ in range(20):  # re-guessing at each expiry keeps the account locked
        while (
            guess := await attempt(attacker, "jan.peeters@example.be", "guess")
        ).status_code == 429:
            auth.clock.advance(int(guess.headers["retry-after"]))
    assert (await attempt(owner, "jan.peeters@example.be", PASSWORD)).status_code == 429
    assert (await attempt(owner, "jan.peeters@example.be", PASSWORD, token)).status_code == 200
    # Even guessing through the owner's address does not get the owner's device locked.
    for i in range(30):
        await attempt(owner, f"x{i}@example.be", "guess")
    assert (await attempt(owner, "jan.peeters@example.be", PASSWORD, token)).status_code == 200
