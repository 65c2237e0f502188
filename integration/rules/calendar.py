"""Calendar arithmetic shared by tiers, memberships and expiry.

Months are calendar months, not 30-day blocks: a yearly plan bought on 15 March ends on 15 March,
and a month after 31 January is the last day of February (the day is clamped to the month's end,
the time of day and the timezone are kept). Merchants and customers count that way.
"""
from __future__ import annotations

import calendar
from datetime import datetime


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by `months` calendar months (may be negative), day clamped to month end."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))
