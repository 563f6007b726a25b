"""What one start costs on a dataset with a long operation history (docs/lifecycle.md,
"What a start costs"), on a scripted API that pages ``operations.list`` as a server does
(support.scripted) and the fake clock (support.clock).

For 10, 1,000 and 10,000 finished operations, listed oldest first or newest first
(the API documents no order, so neither may change the count):

* a start lists them once, in pages of 1,000, then POSTs once;
* a lost answer whose operation did start: one more listing finds and adopts it;
* a lost answer that started nothing: three listings over the settle (at once,
  halfway, at its end), then the POST again;
* every answer lost: 1 + 4 x 3 listings and 4 POSTs, then the start fails;
* a listing slower than the settle: the settle's last listing still starts at
  its end or later, before the POST is sent again.
"""

from __future__ import annotations

import datetime as _dt
import functools

import pytest

from support.clock import FakeClock
from support.operations import DATASET, IMPORT_METHOD, STORE, fresh_operation_name, operation
from support.scripted import DROP, ScriptedApi, scripted_client
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.failures import JobFailed

LISTING = ("GET", r"/datasets/d/operations$")
IMPORT_POST = ("POST", r"/dicomStores/s:import$")
IMPORT_BODY = {"gcsSource": {"uri": "gs://b/x/**.dcm"}}
SIZES = (10, 1_000, 10_000)
#: Requests a script may serve here: enough for the old cost (pages of 100, five listings a settle)
#: to be counted and reported rather than cut off as a loop.
MAX_CALLS = 2_500
#: Fixed when the module is read: every history ends before any start's clock-skew window.
_HOUR_AGO = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1)
_DONE = {"@type": "type.googleapis.com/google.cloud.healthcare.v1.dicom.ImportDicomDataResponse"}


def pages(count: int) -> int:
    """GETs of one listing of ``count`` operations, at 1,000 a page (an empty dataset: one)."""
    return max(1, -(-count // 1000))


@functools.lru_cache(maxsize=None)
def _finished(count: int) -> tuple[dict, ...]:
    """``count`` finished imports, oldest first, one second apart, ending an hour ago."""
    return tuple(operation(f"{DATASET}/operations/{index}", done=True, method=IMPORT_METHOD,
                           create_time=_HOUR_AGO - _dt.timedelta(seconds=count - index), response=_DONE)
                 for index in range(count))


class History:
    """A dataset's ``operations.list`` over ``count`` finished operations, paged as a server
    pages: ``pageSize`` absent or 0 is 100, more than 1,000 is 1,000 (a larger size is
    coerced, as AIP-158 says and the emulator does); the token is an offset.

    ``listed_at`` holds the clock at the first page of each listing; each page takes
    ``page_seconds`` of it. :meth:`started` adds the operation a lost POST started, at the
    end (oldest first) or the front (``newest_first``)."""

    def __init__(self, count: int, clock: FakeClock, *, newest_first: bool = False,
                 page_seconds: float = 0.0) -> None:
        self.operations = list(reversed(_finished(count)) if newest_first else _finished(count))
        self.newest_first = newest_first
        self.clock = clock
        self.page_seconds = page_seconds
        self.listed_at: list[float] = []

    def started(self, name: str) -> None:
        op = operation(name, method=IMPORT_METHOD, create_time=_dt.datetime.now(_dt.timezone.utc))
        if self.newest_first:
            self.operations.insert(0, op)
        else:
            self.operations.append(op)

    def listing(self, call) -> tuple[int, dict]:
        size = min(int((call.query.get("pageSize") or ["0"])[0]) or 100, 1000)
        offset = int((call.query.get("pageToken") or ["0"])[0])
        if offset == 0:
            self.listed_at.append(self.clock.now)
        self.clock.advance(self.page_seconds)
        body: dict = {"operations": self.operations[offset:offset + size]}
        if offset + size < len(self.operations):
            body["nextPageToken"] = str(offset + size)
        return 200, body


def _counts(api: ScriptedApi) -> tuple[int, int]:
    return len(api.calls_to(*LISTING)), len(api.calls_to(*IMPORT_POST))


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest-first", "newest-first"])
@pytest.mark.parametrize("count", SIZES)
def test_a_start_lists_the_history_once_in_pages_of_a_thousand(clock, monkeypatch, count: int,
                                                               newest_first: bool) -> None:
    history, started = History(count, clock, newest_first=newest_first), fresh_operation_name()
    with ScriptedApi({LISTING: history.listing, IMPORT_POST: (200, {"name": started})},
                     max_calls=MAX_CALLS) as api, scripted_client(api, monkeypatch, clock) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
        assert _counts(api) == (pages(count), 1)
        assert {c.query["pageSize"][0] for c in api.calls_to(*LISTING)} == {"1000"}


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest-first", "newest-first"])
@pytest.mark.parametrize("count", SIZES)
def test_a_lost_answer_whose_operation_started_is_adopted_from_one_more_listing(
        clock, monkeypatch, count: int, newest_first: bool) -> None:
    history, started = History(count, clock, newest_first=newest_first), fresh_operation_name()

    def post(_call):
        history.started(started)  # processed, then the connection dropped unanswered
        return DROP

    with ScriptedApi({LISTING: history.listing, IMPORT_POST: post}, max_calls=MAX_CALLS) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
        assert _counts(api) == (pages(count) + pages(count + 1), 1)
    assert history.listed_at == [0.0, 0.0]  # adopted at once: no pause


@pytest.mark.parametrize("count", SIZES)
def test_a_lost_answer_that_started_nothing_costs_three_listings_then_one_post(
        clock, monkeypatch, count: int) -> None:
    history, started = History(count, clock), fresh_operation_name()
    with ScriptedApi({LISTING: history.listing, IMPORT_POST: [DROP, (200, {"name": started})]},
                     max_calls=MAX_CALLS) as api, scripted_client(api, monkeypatch, clock) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
        assert _counts(api) == (4 * pages(count), 2)
    # the in-flight check, then the settle's three: at once, halfway, at its end (3 s)
    assert history.listed_at == [0.0, 0.0, 1.5, 3.0]
    assert jobs.SETTLE_LISTINGS == 3


@pytest.mark.parametrize("count", SIZES)
def test_every_answer_lost_costs_thirteen_listings_and_four_posts(clock, monkeypatch, count: int) -> None:
    history = History(count, clock)
    with ScriptedApi({LISTING: history.listing, IMPORT_POST: DROP}, max_calls=MAX_CALLS) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert _counts(api) == ((1 + 4 * 3) * pages(count), 4)
    assert "4 start requests got no reliable answer" in str(info.value)


def test_a_listing_slower_than_the_settle_is_followed_by_one_that_starts_after_it(clock, monkeypatch) -> None:
    """10 pages of half a second: every listing outlasts the 3 s settle. The POST is sent
    again only after a listing that began at the settle's end or later."""
    history, started = History(10_000, clock, page_seconds=0.5), fresh_operation_name()
    posted_at: list[float] = []

    def post(_call):
        posted_at.append(clock.now)
        return DROP if len(posted_at) == 1 else (200, {"name": started})

    with ScriptedApi({LISTING: history.listing, IMPORT_POST: post}, max_calls=MAX_CALLS) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
    # in-flight check 0-5 s; POST at 5 s, lost; listings at 5 s (ends past the settle's
    # end, 8 s) and at once after it, at 10 s; POST again at 15 s
    assert history.listed_at == [0.0, 5.0, 10.0] and posted_at == [5.0, 15.0]
    assert history.listed_at[-1] >= posted_at[0] + 3.0
