"""Password-guessing throttle, kept in PostgreSQL so it holds across instances.

An attempt without a device token is judged by two counters: the account (the normalised
e-mail, whether or not it exists) and the client address (IPv6 grouped by /64, the block one
subscriber gets). Each counter allows a few free failures, then imposes a delay that doubles with
every further failure, up to a cap; the account cap is short so that guessing on someone's
account cannot lock them out for long, the address cap is longer. Counters are forgotten after a
quiet period. A third counter, the account *from* the address, only remembers which of the
address's failures were that account's: a right password forgives them (an office's typos), so
only failures never followed by a success (credential stuffing) keep slowing the address.

An attempt with a valid device token of the account is judged by that device's own counter
only (`admit_device`): guessing from elsewhere can neither lock the owner's known devices out nor
get their address blocked.

An attempt is counted as a failure *before* the password is checked, inside one short
transaction that locks the counters, and undone when the password was right (or taken back when
the attempt was abandoned before its outcome was known). So parallel attempts are admitted one
after the other, each seeing the earlier ones as failures: twenty parallel guesses get no more
tries than twenty sequential ones. Refused attempts (429) are not counted, so hammering does not
extend a delay.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.auth.login import repository
from services.auth.login.repository import ThrottleRow
from services.auth.platform.sql import Connection

ACCOUNT = "account"
ADDRESS = "address"
ACCOUNT_FROM_ADDRESS = "address_account"
# login_throttle.key is CHECK (length(key) BETWEEN 1 AND 400)
MAX_KEY_LENGTH = 400


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int
    base_delay: timedelta
    max_delay: timedelta

    def delay_after(self, failures: int) -> timedelta:
        """How long the next attempt must wait after `failures` consecutive failures."""
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 40)
        delay: timedelta = min(self.base_delay * (2**doublings), self.max_delay)
        return delay


@dataclass(frozen=True)
class Admission:
    allowed: bool
    retry_after: timedelta = timedelta(0)
    newly_blocked_scopes: tuple[str, ...] = ()
    """Scopes refused for the first time in their current delay (audited once per delay)."""


def account_key(account: str) -> str:
    """The normalised e-mail as the throttle's key, within the table's 1-400 characters: NFKC
    and trimming can make a valid request's address empty ("\\f") or longer than sent (one
    U+FDFA becomes 18 characters); such keys are hashed rather than failing the login with a
    500 (found by fuzzing)."""
    if 1 <= len(account) <= MAX_KEY_LENGTH:
        return account
    return "sha256:" + hashlib.sha256(account.encode("utf-8", "surrogatepass")).hexdigest()


def address_key(address: str) -> str:
    """IPv4 as is, IPv6 by its /64 prefix; anything else (a test client) verbatim."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:200]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def account_from_address_key(account: str, address: str) -> str:
    """Which of an address's failures were on one account."""
    return account_key(f"{address_key(address)} {account_key(account)}")


def _keys(account: str, address: str) -> list[tuple[str, str]]:
    return [
        (ACCOUNT, account_key(account)),
        (ADDRESS, address_key(address)),
        (ACCOUNT_FROM_ADDRESS, account_from_address_key(account, address)),
    ]


class LoginThrottle:
    def __init__(
        self,
        account: ThrottlePolicy,
        address: ThrottlePolicy,
        forget_after: timedelta,
        device: ThrottlePolicy | None = None,
    ) -> None:
        # The per-account-from-address counter never blocks: it only remembers failures.
        never = ThrottlePolicy(2**31 - 1, timedelta(0), timedelta(0))
        self._policies = {ACCOUNT: account, ADDRESS: address, ACCOUNT_FROM_ADDRESS: never}
        self._device = device or account
        self._forget_after = forget_after

    async def admit(self, conn: Connection, account: str, address: str, now: datetime) -> Admission:
        """Decide whether an attempt may check a password; if so, count it as a failure until
        `succeeded` says otherwise. Call inside a transaction."""
        rows = await repository.lock_throttle_rows(conn, _keys(account, address))
        blocked = [r for r in rows if r.blocked_until is not None and r.blocked_until > now]
        if blocked:
            until = max(r.blocked_until for r in blocked if r.blocked_until is not None)
            newly = [r for r in blocked if r.audited_block_until != r.blocked_until]
            for row in newly:
                row.audited_block_until = row.blocked_until
            await repository.save_throttle_rows(conn, newly)
            return Admission(False, until - now, tuple(r.scope for r in newly))
        for row in rows:
            self._count_failure(row, now)
        await repository.save_throttle_rows(conn, rows)
        return Admission(True)

    async def succeeded(self, conn: Connection, account: str, address: str, now: datetime) -> None:
        """The password was right: clear the account's failures, and forgive the address the
        failures this account had from there (this attempt's included: they were typos); failures
        of other accounts from there still count."""
        rows = {
            r.scope: r for r in await repository.lock_throttle_rows(conn, _keys(account, address))
        }
        forgiven = rows[ACCOUNT_FROM_ADDRESS]
        if forgiven.last_failure_at is None or now - forgiven.last_failure_at > self._forget_after:
            forgiven.failures = 0
        self._take_back(rows[ADDRESS], max(1, forgiven.failures), now)
        for scope in (ACCOUNT, ACCOUNT_FROM_ADDRESS):
            rows[scope].failures, rows[scope].blocked_until = 0, None
        await repository.save_throttle_rows(conn, list(rows.values()))

    async def withdraw(self, conn: Connection, account: str, address: str, now: datetime) -> None:
        """Take back the failure counted for an attempt abandoned before its outcome was known
        (the client went away while the password was hashed): it told nobody anything."""
        rows = await repository.lock_throttle_rows(conn, _keys(account, address))
        for row in rows:
            self._take_back(row, 1, now)
        await repository.save_throttle_rows(conn, rows)

    async def admit_device(
        self, conn: Connection, device: repository.DeviceToken, now: datetime
    ) -> Admission:
        """`admit` for an attempt with a valid device token of the account: the device's own
        counter only (locked by the caller's `lock_device_token`)."""
        if device.blocked_until is not None and device.blocked_until > now:
            return Admission(False, device.blocked_until - now)
        if device.last_failure_at is not None and now - device.last_failure_at > self._forget_after:
            device.failures = 0
        device.failures += 1
        device.last_failure_at = now
        delay = self._device.delay_after(device.failures)
        device.blocked_until = now + delay if delay else None
        await repository.save_device_counter(conn, device)
        return Admission(True)

    async def device_succeeded(
        self, conn: Connection, device: repository.DeviceToken, now: datetime
    ) -> None:
        device.failures, device.blocked_until = 0, None
        await repository.save_device_counter(conn, device)

    async def device_withdraw(
        self, conn: Connection, device: repository.DeviceToken, now: datetime
    ) -> None:
        locked = await repository.lock_device_token(conn, device.token_hash, device.user_id, now)
        if locked is None:
            return
        locked.failures = max(0, locked.failures - 1)
        delay = self._device.delay_after(locked.failures)
        last = locked.last_failure_at or now
        locked.blocked_until = last + delay if delay else None
        await repository.save_device_counter(conn, locked)

    def _take_back(self, row: ThrottleRow, failures: int, now: datetime) -> None:
        row.failures = max(0, row.failures - failures)
        delay = self._policies[row.scope].delay_after(row.failures)
        last = row.last_failure_at or now
        row.blocked_until = last + delay if delay else None

    def _count_failure(self, row: ThrottleRow, now: datetime) -> None:
        if row.last_failure_at is not None and now - row.last_failure_at > self._forget_after:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        delay = self._policies[row.scope].delay_after(row.failures)
        row.blocked_until = now + delay if delay else None
