"""Calendar-feed response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec


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
