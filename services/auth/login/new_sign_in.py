"""New sign-in alerts: a sign-in that came without a valid device token of the account (a device
never used for it, another browser, cleared storage) is announced in the owner's bell, with the
device and the time, so that an intruder's session does not go unnoticed. A known device raises
none.

The event (`user.new_sign_in`) is queued in the outbox of the transaction that starts the
session: no alert without the session, no session without its alert.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.auth.domain import ClientInfo, User
from services.auth.platform import events
from services.auth.platform.sql import Connection
from services.auth.sessions.client_devices import describe_device, truncate_address
from shared.events.user_events import SignInDevice, UserNewSignIn


def new_sign_in(session_id: uuid.UUID, client: ClientInfo, now: datetime) -> UserNewSignIn:
    device = describe_device(client.user_agent)
    return UserNewSignIn(
        session_id=session_id,
        device=SignInDevice(browser=device.browser, os=device.os, label=device.label()),
        address=truncate_address(client.address),
        signed_in_at=now,
    )


async def alert_unless_known_device(
    conn: Connection,
    user: User,
    session_id: uuid.UUID,
    client: ClientInfo,
    now: datetime,
    *,
    known_device: bool,
) -> None:
    """Queue `user.new_sign_in` in the caller's transaction unless the sign-in came with a valid
    device token of this user."""
    if known_device:
        return
    await events.publish_user_event(conn, user, new_sign_in(session_id, client, now), now)
