"""The server's wait hints: Retry-After in both forms, RateLimit, RateLimit-Reset, the body.

Every value a server sends is foreign data: malformed, negative or non-numeric values must
be ignored, never raised and never obeyed; a well-formed wait past `MAX_HINT` reads as
``math.inf`` (longer than the client waits), so the transport stops instead of retrying.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from errorbook._state._decision import Decision, LimitState, ratelimit_headers
from errorbook._state._limit import Limit
from errorbook.client._hints import (
    MAX_HINT,
    Hint,
    body_retry_after,
    ratelimit_reset,
    retry_after,
    server_hint,
)

NOW = 1_700_000_000.0


def http_date(timestamp: float) -> str:
    return format_datetime(datetime.fromtimestamp(timestamp, UTC), usegmt=True)


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("0", 0.0),
            ("7", 7.0),
            (" 120 ", 120.0),
            ("1.5", 1.5),
            ("0.25", 0.25),
            ("86400", 86400.0),
        ],
    )
    def test_delta_seconds(self, value: str, seconds: float) -> None:
        """Integer and fractional delta seconds, surrounding whitespace allowed."""
        assert retry_after(value, now=NOW) == seconds

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "soon",
            "-5",
            "+5",
            "1e3",
            "nan",
            "inf",
            "1_0",
            "\u0661\u0662",  # Arabic-Indic digits: float() would take them
            "1.",
            ".5",
            "5 seconds",
            "1, 2",  # two Retry-After fields joined
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "Wed, 21 Oct 99999 07:28:00 GMT",
            "\x00\r\n",
        ],
    )
    def test_garbage_is_ignored(self, value: str) -> None:
        """Anything that is not delta seconds or an HTTP date gives no hint, and no error."""
        assert retry_after(value, now=NOW) is None

    def test_absent(self) -> None:
        assert retry_after(None, now=NOW) is None

    def test_http_date_against_the_wall_clock(self) -> None:
        """Without a Date header the date is measured against ``now``."""
        assert retry_after(http_date(NOW + 30), now=NOW) == 30.0

    def test_http_date_against_the_date_header(self) -> None:
        """With a Date header both come from the server's clock: a client clock an hour
        off still waits the 30 seconds the server meant."""
        value = http_date(NOW + 30)
        assert retry_after(value, date=http_date(NOW), now=NOW + 3600) == 30.0
        assert retry_after(value, date=http_date(NOW), now=NOW - 3600) == 30.0

    def test_garbage_date_header_falls_back_to_now(self) -> None:
        assert retry_after(http_date(NOW + 30), date="yesterday", now=NOW) == 30.0

    def test_past_date_means_now(self) -> None:
        assert retry_after(http_date(NOW - 60), now=NOW) == 0.0

    def test_obsolete_date_forms(self) -> None:
        """RFC 850 and asctime dates, which RFC 9110 says a recipient must accept."""
        assert retry_after("Tuesday, 14-Nov-23 22:13:50 GMT", now=NOW) == 30.0
        assert retry_after("Tue Nov 14 22:13:50 2023", now=NOW) == 30.0

    def test_date_more_than_a_day_away_is_too_long(self) -> None:
        """Not ignored (that would mean retrying at once): longer than any wait taken."""
        assert retry_after(http_date(NOW + MAX_HINT + 60), now=NOW) == math.inf

    @pytest.mark.parametrize("value", ["86401", "9" * 400], ids=["a-day-and-a-second", "huge"])
    def test_seconds_past_a_day_are_too_long(self, value: str) -> None:
        assert retry_after(value, now=NOW) == math.inf

    def test_exactly_a_day_is_taken(self) -> None:
        assert retry_after("86400", now=NOW) == MAX_HINT


class TestRateLimit:
    def test_draft_list_takes_the_exhausted_limit(self) -> None:
        """Only limits with nothing remaining say when to retry; of those the longest."""
        headers = httpx.Headers({"RateLimit": '"burst";r=0;t=3, "day";r=80;t=3600, "min";r=0;t=9'})
        assert ratelimit_reset(headers) == 9.0

    def test_member_without_remaining_counts(self) -> None:
        assert ratelimit_reset(httpx.Headers({"RateLimit": '"default";t=4'})) == 4.0

    def test_only_limits_with_quota_left_give_no_hint(self) -> None:
        assert ratelimit_reset(httpx.Headers({"RateLimit": '"day";r=80;t=3600'})) is None

    def test_decimal_t(self) -> None:
        assert ratelimit_reset(httpx.Headers({"RateLimit": '"a";r=0;t=1.5'})) == 1.5

    @pytest.mark.parametrize(
        "value",
        [
            "garbage;;",
            '"a";r=0;t=-1',
            '"a";r=0;t=?1',
            '"a";r=0;t="7"',
            '"a";r=0;t=99999999999999999',  # too long for a structured integer
            "limit=100, remaining=0, reset=5",  # a dictionary, not the draft's list
            '"a";r=0;t=7\u00e9',
        ],
    )
    def test_malformed_ratelimit_is_ignored(self, value: str) -> None:
        assert ratelimit_reset({"ratelimit": value}) is None

    def test_reads_what_our_server_writes(self) -> None:
        """The layer's own headers for a refused request: the client waits the refused
        limit's retry time, not the other limit's reset."""
        refused = LimitState(Limit(10, 60.0, name="10/minute"), False, 0, 60.0, 12.2)
        allowed = LimitState(Limit(1000, 86400.0, name="1000/day"), True, 900, 50_000.0, 0.0)
        headers = httpx.Headers(ratelimit_headers(Decision(False, 1, (refused, allowed))))
        assert ratelimit_reset(headers) == 13.0  # t is rounded up

    def test_older_ratelimit_reset(self) -> None:
        assert ratelimit_reset({"ratelimit-reset": "11"}) == 11.0
        assert ratelimit_reset({"ratelimit-reset": "11", "ratelimit-remaining": "0"}) == 11.0

    def test_older_reset_with_quota_left_is_no_hint(self) -> None:
        assert ratelimit_reset({"ratelimit-reset": "11", "ratelimit-remaining": "4"}) is None

    def test_older_reset_garbage(self) -> None:
        assert ratelimit_reset({"ratelimit-reset": "tomorrow"}) is None

    def test_reset_past_a_day_is_too_long(self) -> None:
        assert ratelimit_reset({"ratelimit": '"day";r=0;t=90000'}) == math.inf
        assert ratelimit_reset({"ratelimit-reset": "90000"}) == math.inf

    def test_draft_wins_over_the_older_header(self) -> None:
        headers = {"ratelimit": '"a";r=0;t=2', "ratelimit-reset": "40"}
        assert ratelimit_reset(headers) == 2.0


class TestBody:
    @pytest.mark.parametrize(("value", "seconds"), [(0, 0.0), (2, 2.0), (0.5, 0.5)])
    def test_numbers(self, value: float, seconds: float) -> None:
        assert body_retry_after(value) == seconds

    @pytest.mark.parametrize("value", [None, True, "3", -1, math.nan, math.inf, [3]])
    def test_unusable(self, value: object) -> None:
        assert body_retry_after(value) is None

    @pytest.mark.parametrize("value", [10**400, MAX_HINT + 1], ids=["huge", "a-day-and-a-second"])
    def test_past_a_day_is_too_long(self, value: float) -> None:
        assert body_retry_after(value) == math.inf


class TestServerHint:
    def test_none_at_all(self) -> None:
        assert server_hint(httpx.Headers(), None, now=NOW) is None

    def test_the_longest_wins_and_names_its_source(self) -> None:
        headers = httpx.Headers({"Retry-After": "3", "RateLimit": '"a";r=0;t=5'})
        assert server_hint(headers, 4.0, now=NOW) == Hint(5.0, "ratelimit-reset")
        assert server_hint(headers, 9.5, now=NOW) == Hint(9.5, "body-retry-after")
        assert server_hint(httpx.Headers({"Retry-After": "6"}), 4.0, now=NOW) == Hint(
            6.0, "retry-after"
        )

    def test_tie_goes_to_retry_after(self) -> None:
        headers = httpx.Headers({"Retry-After": "5", "RateLimit": '"a";r=0;t=5'})
        assert server_hint(headers, 5.0, now=NOW) == Hint(5.0, "retry-after")

    def test_garbage_header_leaves_the_body_hint(self) -> None:
        headers = httpx.Headers({"Retry-After": "later", "RateLimit": "%%%"})
        assert server_hint(headers, 1.25, now=NOW) == Hint(1.25, "body-retry-after")

    def test_retry_after_date_uses_the_date_header(self) -> None:
        headers = httpx.Headers({"Retry-After": http_date(NOW + 20), "Date": http_date(NOW)})
        assert server_hint(headers, None, now=0.0) == Hint(20.0, "retry-after")
