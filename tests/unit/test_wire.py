"""localbatch.wire on its own: ISO 8601 durations, the service's time formats, ETags and the
conditional headers."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from localbatch import errors, wire

DOC = {"eTag": "0x8DC0FFEE1234567", "lastModified": "2025-06-01T12:00:30.1234567Z"}


@pytest.mark.parametrize(("text", "seconds"), [
    ("PT0S", 0.0), ("PT30S", 30.0), ("PT1.5S", 1.5), ("PT2M", 120.0), ("PT1H", 3600.0),
    ("P1D", 86400.0), ("P1DT1H1M1S", 90061.0), ("PT0.5H", 1800.0),
    (wire.FOREVER, 10675199 * 86400 + 2 * 3600 + 48 * 60 + 5.4775807),
])
def test_a_duration_is_its_seconds(text: str, seconds: float) -> None:
    assert wire.duration_seconds(text, "maxWallClockTime") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "P", "PT", "30S", "PT-1S", "P1H", "PT1D", "P1W",
                                  "PT1S ", "1 day"])
def test_a_malformed_duration_names_the_property(text: str) -> None:
    with pytest.raises(errors.InvalidPropertyValue) as caught:
        wire.duration_seconds(text, "retentionTime")
    assert caught.value.status == 400
    assert caught.value.values == {"PropertyName": "retentionTime", "PropertyValue": text}


def test_iso_has_seven_fractional_digits_and_z() -> None:
    moment = datetime(2025, 6, 1, 8, 9, 10, 123456, tzinfo=timezone.utc)
    assert wire.iso(moment) == "2025-06-01T08:09:10.1234560Z"


def test_rfc1123_round_trips_an_iso_stamp_to_the_second() -> None:
    assert wire.rfc1123_from_iso("2025-06-01T08:09:10.1234560Z") == \
        "Sun, 01 Jun 2025 08:09:10 GMT"


def test_an_etag_is_0x_and_15_hex_digits_and_new_each_time() -> None:
    tags = {wire.new_etag() for _ in range(50)}
    assert len(tags) == 50
    assert all(re.fullmatch(r"0x[0-9A-F]{15}", tag) for tag in tags)


def test_no_conditional_header_goes_ahead() -> None:
    assert wire.precondition({}, DOC, read=True) is True


@pytest.mark.parametrize("read", [True, False])
def test_if_match(read: bool) -> None:
    assert wire.precondition({"if-match": '"0x8DC0FFEE1234567"'}, DOC, read) is True
    assert wire.precondition({"if-match": "*"}, DOC, read) is True
    with pytest.raises(errors.ConditionNotMet):
        wire.precondition({"if-match": "0x0000000000000AA, 0x0000000000000BB"}, DOC, read)


def test_if_none_match_is_304_on_a_read_and_412_on_a_write() -> None:
    same = {"if-none-match": DOC["eTag"]}
    assert wire.precondition(same, DOC, read=True) is False
    with pytest.raises(errors.ConditionNotMet):
        wire.precondition(same, DOC, read=False)
    assert wire.precondition({"if-none-match": "0x0000000000000AA"}, DOC, read=False) is True


def test_if_modified_since_compares_to_the_second() -> None:
    assert wire.precondition({"if-modified-since": "Sun, 01 Jun 2025 12:00:30 GMT"}, DOC,
                             read=True) is False   # the fraction does not count
    assert wire.precondition({"if-modified-since": "Sun, 01 Jun 2025 12:00:29 GMT"}, DOC,
                             read=True) is True


def test_if_unmodified_since_fails_a_write_after_a_change() -> None:
    with pytest.raises(errors.ConditionNotMet):
        wire.precondition({"if-unmodified-since": "Sun, 01 Jun 2025 12:00:00 GMT"}, DOC,
                          read=False)
    assert wire.precondition({"if-unmodified-since": "Sun, 01 Jun 2025 13:00:00 GMT"}, DOC,
                             read=False) is True


@pytest.mark.parametrize("value", ["yesterday", "2025-06-01T12:00:00"])
def test_a_date_that_is_not_rfc1123_is_an_invalid_header(value: str) -> None:
    with pytest.raises(errors.InvalidHeaderValue) as caught:
        wire.precondition({"if-modified-since": value}, DOC, read=True)
    assert caught.value.values["HeaderName"] == "if-modified-since"
    assert caught.value.values["HeaderValue"] == value


def test_two_conditions_are_refused_unless_they_pair() -> None:
    with pytest.raises(errors.InvalidHeaderValue) as caught:
        wire.precondition({"if-match": "*", "if-none-match": "*"}, DOC, read=True)
    assert caught.value.values["HeaderName"] == "if-match, if-none-match"
    paired = {"if-match": DOC["eTag"], "if-unmodified-since": "Sun, 01 Jun 2025 12:00:00 GMT"}
    # a pair is allowed, and the ETag decides
    assert wire.precondition(paired, DOC, read=False) is True
