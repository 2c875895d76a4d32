"""Calendar-feed response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from scheduler.schemas import Input

MAX_EXPIRY_DAYS = 3660


class FeedToken(msgspec.Struct):
    """A newly issued personal feed. The token is a secret: whoever has ``url`` can read the
    holder's bookings, so it is shown once, here, and can only be revoked, not listed."""

    token: Annotated[str, msgspec.Meta(description="The secret feed token (43 characters)")]
    url: Annotated[
        str,
        msgspec.Meta(
            description="Absolute URL of the iCalendar feed, to subscribe to in a calendar app"
        ),
    ]
    created_at: datetime
    expires_at: Annotated[
        datetime | None, msgspec.Meta(description="When the feed stops working; null: never")
    ] = None


class FeedTokenCreate(Input):
    """Options of a new feed token (the body is optional)."""

    expires_in_days: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1,
                le=MAX_EXPIRY_DAYS,
                description="The feed stops working after this many days; omitted: never",
            ),
        ]
        | None
    ) = None


class FeedsRevoked(msgspec.Struct):
    """The result of revoking a person's feeds."""

    revoked: Annotated[int, msgspec.Meta(description="How many live feed tokens were revoked")]
