from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from funding.calendar import end_of_day, is_open

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("day", "offset"),
    [(date(2023, 9, 22), "+02:00"), (date(2023, 12, 22), "+01:00")],
    ids=["summer-time", "winter-time"],
)
def test_deadline_day_is_open_until_its_last_instant_in_paris(day, offset):
    last = end_of_day(day)
    assert last.isoformat() == f"{day.isoformat()}T23:59:59.999999{offset}"
    just_before = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=PARIS)
    assert is_open(day, at=just_before)
    assert not is_open(day, at=just_before + timedelta(seconds=1))


def test_deadline_is_compared_in_paris_time_not_utc():
    # 22:30 UTC on 22 Sept 2023 is already 00:30 on the 23rd in Paris.
    assert not is_open(date(2023, 9, 22), at=datetime(2023, 9, 22, 22, 30, tzinfo=ZoneInfo("UTC")))
    assert is_open(date(2023, 9, 22), at=datetime(2023, 9, 22, 21, 30, tzinfo=ZoneInfo("UTC")))
