"""The SMS budget on a real PostgreSQL: a send log that no two-factor change resets, limits per
user, per number (hour and day) and per organisation, parallel requests that cannot pass a cap
together, the metric, and the log's retention."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.auth.components import retention
from services.auth.platform.housekeeping import clean_up
from shared.db import UnitOfWork
from tests.auth.conftest import PASSWORD, AuthHarness, cheap_auth_settings
from tests.auth.two_factor_support import MOBILE


def mobile(n: int) -> str:
    """Distinct valid Belgian mobile numbers."""
    return f"+3247012{n:04d}"


async def _send(auth: AuthHarness, headers: dict[str, str], number: str = MOBILE) -> Any:
    return await auth.client.post(
        "/v1/me/2fa/phone", json={"phone_number": number}, headers=headers
    )


async def _sms_count(auth: AuthHarness) -> int:
    async with auth.app.state.pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'sms.requested'"
        )
    return count


def _refused(answer: Any, limit: str) -> None:
    assert answer.status_code == 429, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/sms-limit-reached")
    assert problem["limit"] == limit
    assert int(answer.headers["retry-after"]) == problem["retry_after"] > 0


async def test_turning_two_factor_off_while_it_is_off_resets_no_limit(auth: AuthHarness) -> None:
    """The SMS-pumping loop: request a code, "turn 2FA off", request again."""
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    answers = []
    for _ in range(6):
        answers.append((await _send(auth, headers)).status_code)
        off = await auth.client.request(
            "DELETE", "/v1/me/2fa", json={"password": PASSWORD}, headers=headers
        )
        assert off.status_code == 409, off.text
        assert off.json()["type"].endswith("/two-factor-not-enabled")
        auth.clock.advance(61)
    assert answers == [202, 202, 202, 429, 429, 429]
    assert await _sms_count(auth) == 3


async def test_the_cooldown_survives_turning_two_factor_off(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    assert (await _send(auth, headers)).status_code == 202
    await auth.client.request("DELETE", "/v1/me/2fa", json={"password": PASSWORD}, headers=headers)
    _refused(await _send(auth, headers), "cooldown")
    assert await _sms_count(auth) == 1


async def test_a_number_gets_three_codes_an_hour_and_ten_a_day(auth: AuthHarness) -> None:
    for n in range(4):
        await auth.create_user(f"user{n}@example.be", organization=f"Org {n}")
    sent = 0
    for hour in range(4):
        for n in range(4):
            headers = auth.bearer(await auth.login(f"user{n}@example.be"))
            answer = await _send(auth, headers)
            if answer.status_code == 202:
                sent += 1
            elif sent < 10:
                _refused(answer, "number_hourly")
            else:
                _refused(answer, "number_daily")
                assert int(answer.headers["retry-after"]) > 20 * 3600
        auth.clock.advance(hours=1, seconds=1)
        assert sent == min(3 * (hour + 1), 10)


async def test_a_user_gets_five_codes_an_hour_whatever_the_numbers(auth: AuthHarness) -> None:
    await auth.create_user()
    answers = []
    for n in range(6):
        headers = auth.bearer(await auth.login())
        answer = await _send(auth, headers, mobile(n))
        answers.append(answer.status_code)
        auth.clock.advance(61)
    assert answers == [202] * 5 + [429]
    _refused(answer, "user_hourly")
    # The first code ages out of the hour first.
    assert int(answer.headers["retry-after"]) == 3600 - 5 * 61


@pytest.mark.parametrize("auth_settings", [cheap_auth_settings(sms_hourly_cap_per_organization=3)])
async def test_an_organisation_is_capped_across_its_users_and_numbers(auth: AuthHarness) -> None:
    for n in range(4):
        await auth.create_user(f"user{n}@example.be")
    answers = []
    for n in range(4):
        headers = auth.bearer(await auth.login(f"user{n}@example.be"))
        answers.append(await _send(auth, headers, mobile(n)))
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    _refused(answers[-1], "organization_hourly")
    # Another organisation is not affected.
    await auth.create_user("other@example.be", organization="Elsewhere")
    headers = auth.bearer(await auth.login("other@example.be"))
    assert (await _send(auth, headers, mobile(9))).status_code == 202


async def test_parallel_requests_for_one_number_pass_exactly_the_cap(auth: AuthHarness) -> None:
    emails = [f"user{n}@example.be" for n in range(12)]
    for n, email in enumerate(emails):
        await auth.create_user(email, organization=f"Org {n}")
    headers = [auth.bearer(await auth.login(email)) for email in emails]
    answers = await asyncio.gather(*(_send(auth, h) for h in headers))
    assert sorted(a.status_code for a in answers) == [202] * 3 + [429] * 9
    assert await _sms_count(auth) == 3


@pytest.mark.parametrize("auth_settings", [cheap_auth_settings(sms_resend_cooldown_seconds=0)])
async def test_parallel_requests_of_one_user_pass_exactly_the_cap(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    answers = await asyncio.gather(*(_send(auth, headers, mobile(n)) for n in range(12)))
    assert sorted(a.status_code for a in answers) == [202] * 5 + [429] * 7
    assert await _sms_count(auth) == 5


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_sent_and_refused_codes_are_counted_in_the_metrics(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    requested = _metric("auth_sms_requested_total")
    cooldown = _metric("auth_sms_refused_total", reason="cooldown")
    await _send(auth, headers)
    await _send(auth, headers)
    assert _metric("auth_sms_requested_total") == requested + 1
    assert _metric("auth_sms_refused_total", reason="cooldown") == cooldown + 1
    text = (await auth.client.get("/metrics")).text
    assert 'auth_sms_refused_total{reason="cooldown"}' in text
    assert "auth_sms_requested_total" in text


async def test_the_send_log_is_kept_past_a_day_then_purged(auth: AuthHarness) -> None:
    await auth.create_user()
    headers = auth.bearer(await auth.login())
    assert (await _send(auth, headers)).status_code == 202
    pool = auth.app.state.pool
    rules = retention(cheap_auth_settings())

    async def logged() -> int:
        async with pool.acquire() as conn:
            count: int = await conn.fetchval("SELECT count(*) FROM sms_send_log")
        return count

    auth.clock.advance(hours=25)
    await clean_up(UnitOfWork(pool), auth.clock, rules)
    assert await logged() == 1
    auth.clock.advance(days=1)
    await clean_up(UnitOfWork(pool), auth.clock, rules)
    assert await logged() == 0
