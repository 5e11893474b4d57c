"""Wrong second-factor codes over a day: escalating lock-outs after each window cap, a daily cap,
and the security notification when it is reached."""

from __future__ import annotations

from datetime import timedelta

from tests.auth.conftest import AuthHarness
from tests.auth.two_factor_support import (
    audit_events,
    code_at,
    enable_two_factor,
    mfa_token,
    outbox_types,
    second_step,
)


async def test_a_guesser_gets_a_few_dozen_codes_a_day_and_the_user_is_told(
    auth: AuthHarness,
) -> None:
    """A guesser who knows the password waits out every lock-out for a day."""
    await auth.create_user()
    await enable_two_factor(auth, auth.bearer(await auth.login()))
    start = auth.clock.now()
    evaluated, lockouts = 0, []
    while auth.clock.now() - start < timedelta(days=1) and evaluated < 200:
        token = await mfa_token(auth)
        for _ in range(5):  # five wrong codes kill a token
            answer = await second_step(auth, token, "000000")
            if answer.status_code == 429:
                lockouts.append(int(answer.headers["retry-after"]))
                auth.clock.advance(lockouts[-1])
                break
            assert answer.status_code == 401
            evaluated += 1
    assert evaluated == 30
    assert lockouts[:3] == [900, 1800, 86400 - 900 - 1800]
    assert (await audit_events(auth)).count("two_factor_suspicious_codes") >= 1
    assert ("user.suspicious_codes", {"failed_attempts": 30}) in await outbox_types(auth)


async def test_the_daily_cap_holds_the_right_code_until_the_day_is_over(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    secret, _ = await enable_two_factor(auth, auth.bearer(await auth.login()))
    start = auth.clock.now()
    wrong = 0
    while wrong < 30:
        token = await mfa_token(auth)
        for _ in range(5):
            answer = await second_step(auth, token, "000000")
            if answer.status_code == 429:
                auth.clock.advance(int(answer.headers["retry-after"]))
                break
            wrong += 1
            if wrong == 30:
                break
    auth.clock.advance(3600)
    refused = await second_step(auth, await mfa_token(auth), code_at(secret, auth.clock.now()))
    assert refused.status_code == 429
    assert auth.clock.now() + timedelta(seconds=int(refused.headers["retry-after"])) >= (
        start + timedelta(days=1)
    )
    auth.clock.advance(int(refused.headers["retry-after"]))
    accepted = await second_step(auth, await mfa_token(auth), code_at(secret, auth.clock.now()))
    assert accepted.status_code == 200
