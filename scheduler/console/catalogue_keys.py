"""Message ids the templates build at run time (``_("zone:" ~ key)``, statuses, refusal
titles), written out so ``pybabel extract`` finds them. Never called; read by the extractor."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


DYNAMIC_MESSAGES = (
    # roles
    N_("resident"),
    N_("worker"),
    N_("partner"),
    N_("staff"),
    N_("admin"),
    # report groupings
    N_("group:zone"),
    N_("group:partner"),
    N_("group:resource"),
    # suspension scopes
    N_("scope:resource"),
    N_("scope:partner"),
    N_("scope:everywhere"),
    # zones
    N_("zone:expo_park"),
    N_("zone:office"),
    N_("zone:camp"),
    N_("zone:campus"),
    N_("zone:residential"),
    # day types and their sources
    N_("workday"),
    N_("rest_day"),
    N_("holiday"),
    N_("school_day"),
    N_("non_school_day"),
    N_("official"),
    N_("correction"),
    # booking statuses
    N_("pending"),
    N_("confirmed"),
    N_("rejected"),
    N_("checked_in"),
    N_("completed"),
    N_("no_show"),
    N_("cancelled"),
    N_("expired"),
    N_("entered"),
    N_("not_selected"),
    N_("waitlisted"),
    N_("offered"),
    N_("lapsed"),
    # slot statuses, audiences, resource kinds, job roles
    N_("slot:open"),
    N_("slot:full"),
    N_("slot:closed"),
    N_("slot:not_released"),
    N_("slot:past"),
    N_("audience:residents"),
    N_("audience:public"),
    N_("audience:visitors"),
    N_("kind:sports_field"),
    N_("kind:court"),
    N_("kind:parking"),
    N_("kind:room"),
    N_("kind:canteen"),
    N_("kind:other"),
    N_("jobs:leader"),
    N_("jobs:standby"),
    N_("jobs:disabled"),
    # problem titles (scheduler/errors.py, scheduler/core/refusals.py)
    N_("The request is not valid"),
    N_("Not allowed"),
    N_("Not found"),
    N_("Conflict with the current state"),
    N_("The item changed since you read it"),
    N_("This change is not possible in the booking's current state"),
    N_("Check-in is not open now"),
    N_("Authentication required"),
    N_("The resource is closed then"),
    N_("Not enough capacity left"),
    # field messages of the window and closure services
    N_("must be HH:MM"),
    N_("must be after starts_at"),
    N_("not a valid date and time"),
    N_("zero-length window; for a whole day use 00:00-24:00"),
    # approval modes, webhook delivery states, printed list names
    N_("approval:auto"),
    N_("approval:staff"),
    N_("delivery:pending"),
    N_("delivery:delivered"),
    N_("delivery:failed"),
    N_("Diner list"),
    N_("Car list"),
    # problem titles and field messages of the catalogue, terms, webhook and merge forms
    N_("The resource still has active bookings"),
    N_("An item with this identity already exists"),
    N_("A documented limit is reached"),
    N_("Webhooks may only be sent to public addresses"),
    N_("This partner has as many webhook endpoints as allowed"),
    N_("must not be before starts_on"),
    N_("not a valid date (YYYY-MM-DD)"),
    N_("must divide a day (1440 minutes) evenly"),
    N_("must be at least min_duration_minutes"),
    N_("Choose a partner unit first."),
    N_("Tick the box to confirm the merge."),
    N_("These are already one record."),
    N_("must start with http:// or https://"),
)
