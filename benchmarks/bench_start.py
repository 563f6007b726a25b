"""(8) The requests one start makes on a dataset with a long operation history.

A start lists the dataset's operations before its POST (the in-flight check),
and again after a POST whose answer was lost (adoption); the API documents no
filter and no order, so each listing reads every page. For datasets holding
10, 1,000 and 10,000 finished operations (their creation included; the rest
added by the emulator's ``POST /_emulator/operations/history``), one
``jobs.start`` of an import per path, its GETs and POSTs counted in the
emulator's request log:

* normal: the answer arrives;
* answer lost after processing (``drop_after_processing`` on the POST): the
  operation started and is adopted from the next listing;
* request lost before processing (``reset``, once): nothing started; the
  settle's listings, then the POST again;
* every request lost (``reset``, four times): the start gives up.

Baseline, same run: one bare listing of the same dataset (its GETs and
seconds): the ratio is the start's GETs in listings' worth. Targets: the
counts docs/lifecycle.md states ("What a start costs"): exact where no settle
is involved; after a lost answer that started nothing, at most those (a
settle lists three times when a listing takes less than half of it, fewer
when listings are slower: on a loaded machine 10,000 operations can take
longer than the 3 s settle to list).
"""

from __future__ import annotations

import time

from benchmarks.common import Results
from tests.support.cloud import Cloud
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.kinds import JobKind

SIZES = (10, 1_000, 10_000)
BODY = {"gcsSource": {"uri": "gs://bench-start-nothing-here/**.dcm"}}


def pages(count: int) -> int:
    """GETs of one listing of ``count`` operations at 1,000 a page."""
    return max(1, -(-count // 1000))


#: path -> (fault on the POST or None, (GETs, POSTs) for N operations, does it start, GETs at most (not exact))
PATHS = {
    "normal": (None, lambda n: (pages(n), 1), True, False),
    "answer lost after processing": ({"action": "drop_after_processing", "times": 1},
                                     lambda n: (pages(n) + pages(n + 1), 1), True, False),
    "request lost, nothing started": ({"action": "reset", "times": 1}, lambda n: (4 * pages(n), 2), True, True),
    "every request lost (gives up)": ({"action": "reset", "times": jobs.MAX_START_ATTEMPTS},
                                      lambda n: ((1 + jobs.MAX_START_ATTEMPTS * jobs.SETTLE_LISTINGS) * pages(n),
                                                 jobs.MAX_START_ATTEMPTS), False, True),
}


def _counts(cloud: Cloud, dataset: str, store: str) -> tuple[int, int]:
    log = cloud.admin.requests_log()
    gets = sum(1 for r in log if r["method"] == "GET" and r["path"].endswith(f"{dataset}/operations"))
    posts = sum(1 for r in log if r["method"] == "POST" and r["path"].endswith(f"{store}:import"))
    return gets, posts


def run(results: Results, stack_env: dict, cloud: Cloud) -> None:
    for count in SIZES:
        cloud.admin.reset()  # each size on its own: the emulator scans every operation it holds per page
        for path, (fault, expected, starts, bounded) in PATHS.items():
            dataset = cloud.api.create_dataset()  # its creation is one finished operation
            store = cloud.api.create_dicom_store(dataset)
            cloud.admin.add_history(dataset, count - 1)
            with HealthcareClient() as client:
                cloud.admin.clear_requests()
                began = time.monotonic()
                listed = sum(1 for _ in client.list_operations(dataset))
                seconds = time.monotonic() - began
                listing = _counts(cloud, dataset, store)[0]
                assert listed == count, (listed, count)
                cloud.admin.clear_requests()
                if fault is not None:
                    cloud.admin.post("faults", {"method": "POST", "path": f"{store}:import$", **fault})
                try:
                    jobs.start(client, JobKind.IMPORT, store, BODY)
                    started = True
                except JobFailed:
                    started = False
                cloud.admin.delete("faults")
            gets, posts = _counts(cloud, dataset, store)
            want = expected(count)
            met = (gets <= want[0] if bounded else gets == want[0]) and posts == want[1] and started == starts
            results.add("8 start cost", f"{count:,} ops, {path}: GETs / POSTs", f"{gets} / {posts}",
                        f"1 listing: {listing} GETs, {seconds:.2f} s", f"{gets / listing:.1f}x",
                        f"{'<=' if bounded else '='} {want[0]} / = {want[1]}", met)
