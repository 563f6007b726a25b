"""(3) check + diff of 1,000 resources, and (4) the serialized provider's size.

(3) In process (what one ``pulumi preview`` of a 1,000-job stack costs the
provider): 1,000 distinct imports are checked and diffed against recorded
outputs; the Healthcare emulator's request log must not grow (zero HTTP).
Baseline: the same loop over :class:`benchmarks.baseline_provider.TrivialProvider`.
The same 2,000 calls are also sent through the real host over gRPC, against the
trivial provider in its own host, for the end-to-end picture.

(4) ``__provider`` as the SDK writes it into every resource's state, vs the
trivial provider pickled the same way.
"""

from __future__ import annotations

import time

from pulumi.dynamic.dynamic import serialize_provider

from benchmarks import fixtures
from benchmarks.baseline_provider import TrivialProvider
from benchmarks.common import Results
from tests.support.cloud import Cloud
from pulumi_dicom_jobs.dynamic.providers import DicomImportJobProvider

COUNT = 1000
STORE = "projects/p-{0}/locations/us-central1/datasets/d{0}/dicomStores/s{0}"


def _corpus(provider: str) -> list[tuple[dict, dict]]:
    pairs = []
    for i in range(COUNT):
        news = fixtures.import_inputs(STORE.format(f"proj{i:04d}"), f"gs://bucket-{i:04d}/dir/**.dcm", provider,
                                   max_failed_instances=i % 3)
        olds = {**news, "operation_name": f"{STORE.format(i)}/operations/{i}", "success_count": i,
                "failure_count": 0}
        pairs.append((news, olds))
    return pairs


def _in_process(provider_obj, pairs) -> float:
    started = time.perf_counter()
    for news, olds in pairs:
        checked = provider_obj.check({}, news)
        provider_obj.diff(olds["operation_name"], olds, checked.inputs)
    return time.perf_counter() - started


def _through_host(stack_env: dict, pairs) -> float:
    with fixtures.host(stack_env) as host:
        host.check("urn:warm", {}, pairs[0][0])
        started = time.perf_counter()
        for i, (news, olds) in enumerate(pairs):
            host.check(fixtures.URN.format(i), {}, news)
            host.diff(fixtures.URN.format(i), olds["operation_name"], olds, news)
        return time.perf_counter() - started


def run(results: Results, stack_env: dict, cloud: Cloud) -> None:
    ours = _corpus(fixtures.import_provider())
    trivial = _corpus(serialize_provider(TrivialProvider()))
    cloud.admin.clear_requests()
    t_ours = _in_process(DicomImportJobProvider(), ours)
    t_trivial = _in_process(TrivialProvider(), trivial)
    h_ours = _through_host(stack_env, ours)
    h_trivial = _through_host(stack_env, trivial)
    requests_made = len(cloud.admin.requests_log())  # cleared above: in process and through the host
    results.add("3 check+diff", f"{COUNT} resources in process: s", f"{t_ours:.3f}",
                f"trivial: {t_trivial:.3f}", f"{t_ours / t_trivial:.1f}x", "< 1 s", t_ours < 1.0)
    results.add("3 check+diff", f"{COUNT} resources through host gRPC: s", f"{h_ours:.3f}",
                f"trivial: {h_trivial:.3f}", f"{h_ours / h_trivial:.2f}x", "-", None)
    results.add("3 check+diff", "HTTP requests to the API", f"{requests_made}", "0", "-", "0",
                requests_made == 0)

    sizes = {"import": len(fixtures.import_provider()), "export": len(fixtures.export_provider())}
    base = len(serialize_provider(TrivialProvider()))
    for kind, size in sizes.items():
        results.add("4 size", f"serialized {kind} provider: bytes", f"{size}", f"trivial: {base}",
                    f"{size / base:.2f}x", "<= 2048", size <= 2048)
