"""The `sms.requested` record (contract section 6): what the platform's SMS gateway must send.
Built through this model, so the published payload and the AsyncAPI document agree."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.auth.domain import Language


class SmsRequested(BaseModel):
    """An SMS to send: its text is localized and contains a code (short retention)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID
    occurred_at: datetime
    organization_id: UUID
    user_id: UUID
    phone_number: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")]
    language: Language
    purpose: Literal["phone_verification"]
    text: Annotated[str, Field(min_length=1, max_length=480)]


def sms_requested(
    *,
    organization_id: UUID,
    user_id: UUID,
    phone_number: str,
    language: Language,
    text: str,
    now: datetime,
) -> dict[str, Any]:
    """The payload as published (JSON-ready, `occurred_at` in UTC with `Z`)."""
    record = SmsRequested(
        event_id=uuid.uuid4(),
        occurred_at=now,
        organization_id=organization_id,
        user_id=user_id,
        phone_number=phone_number,
        language=language,
        purpose="phone_verification",
        text=text,
    )
    payload = record.model_dump(mode="json")
    payload["occurred_at"] = now.isoformat().replace("+00:00", "Z")
    return payload
