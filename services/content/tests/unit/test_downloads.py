"""Byte ranges and conditions as RFC 9110 states them, for a device resuming a download."""

import pytest

from content.api.downloads import parse_range, strong_match, weak_match
from servicekit.problems import Problem

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=500-", (500, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),  # a suffix longer than the file is the whole file
        ("bytes=900-5000", (900, 999)),  # a last byte past the end is clipped
        ("BYTES = 1-2", (1, 2)),  # the unit is case-insensitive; spaces around are allowed
        ("bytes=0-99,", (0, 99)),  # an empty list element is ignored
        ("items=0-5", None),  # a unit it does not know is ignored: the whole file
        ("bytes=0-99,200-299", None),  # several ranges: the whole file, not multipart
        ("bytes=0-99,5000-", (0, 99)),  # only one of them can be served: that one
    ],
)
def test_one_satisfiable_range_is_served_and_the_rest_gets_the_whole_file(
    header: str | None, wanted: tuple[int, int] | None
) -> None:
    assert parse_range(header, SIZE) == wanted


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("bytes=1000-", "range_not_satisfiable"),
        ("bytes=5000-6000", "range_not_satisfiable"),
        ("bytes=-0", "range_not_satisfiable"),
        ("bytes=0-99,50-150", "ranges_overlap"),
        ("bytes=0-0,0-0", "ranges_overlap"),
        ("bytes=200-299,0-200", "ranges_overlap"),  # out of order and touching
        ("bytes=abc", "range_malformed"),
        ("bytes=-", "range_malformed"),
        ("bytes=10-5", "range_malformed"),
        ("bytes=", "range_malformed"),
        ("bytes=1-2-3", "range_malformed"),
        ("0-99", "range_malformed"),
        ("bytes=0x10-", "range_malformed"),
    ],
)
def test_bad_ranges_are_refused_with_416_naming_the_header_and_the_size(
    header: str, code: str
) -> None:
    with pytest.raises(Problem) as refused:
        parse_range(header, SIZE)
    problem = refused.value
    assert (problem.status, problem.code) == (416, code)
    assert problem.headers == {"Content-Range": f"bytes */{SIZE}"}
    assert problem.errors is not None and problem.errors[0]["field"] == "Range"


def test_if_range_and_if_match_compare_strongly_and_if_none_match_weakly() -> None:
    etag = '"abc"'
    assert strong_match('"abc"', etag) and strong_match('"x", "abc"', etag)
    assert not strong_match('W/"abc"', etag), "a weak tag never validates a range"
    assert not strong_match('"old"', etag) and not strong_match(None, etag)
    assert not strong_match("Wed, 21 Oct 2015 07:28:00 GMT", etag), "no Last-Modified here"
    assert weak_match('W/"abc"', etag) and weak_match("*", etag)
    assert not weak_match('"old"', etag) and not weak_match(None, etag)
