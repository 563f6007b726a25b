"""Run every benchmark against a fresh local stack; print and save the table."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from benchmarks import (bench_concurrency, bench_memory, bench_offline, bench_plugin, bench_roundtrip,
                        bench_start, bench_waiter)
from benchmarks.common import TOKEN, Results, table
from healthcare_emulator.stack import LocalStack
from tests.support.cloud import Cloud

BENCHES = {"concurrency": bench_concurrency, "waiter": bench_waiter, "offline": bench_offline,
           "memory": bench_memory, "plugin": bench_plugin, "roundtrip": bench_roundtrip, "start": bench_start}
RESULTS = Path(__file__).resolve().parent / "results.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help=f"run only these ({', '.join(BENCHES)}); default all")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite results.md")
    args = parser.parse_args(argv)
    chosen = args.only or list(BENCHES)
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    results = Results()
    failed = []
    started = time.monotonic()
    # IAM off (the emulator warns in its log): the figures are about starting and waiting on
    # jobs, and a grant check per job would only add noise to them
    with LocalStack(with_bigquery=False, enforce_iam=False) as stack:
        env = stack.env()
        os.environ.update(env)
        cloud = Cloud(stack, token=TOKEN)
        for name in chosen:
            cloud.admin.reset()
            t0 = time.monotonic()
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            try:
                BENCHES[name].run(results, env, cloud)
            except Exception:  # report and carry on with the other figures
                failed.append(name)
                results.note(f"{name} FAILED:\n```\n{traceback.format_exc()}```")
                traceback.print_exc()
            print(f"[bench] {name} done in {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
    text = table(results.figures)
    print(text)
    for note in results.notes:
        print("- " + note)
    if not args.no_write:
        # sections written by other tools (``## ...``, e.g. make mutate's score) are kept
        previous = RESULTS.read_text() if RESULTS.exists() else ""
        kept = previous[previous.index("\n## "):] if "\n## " in previous else ""
        RESULTS.write_text(
            "# Benchmark results\n\n"
            f"Run: `python -m benchmarks` on {platform.node()} ({os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"{time.monotonic() - started:.0f} s in all. Every ratio is against a baseline "
            "measured in the same run (see README.md).\n\n" + text + "\n\n"
            + "".join(f"- {note}\n" for note in results.notes) + kept)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
