"""Progress display for ``dicom-jobs`` while it waits on a long-running operation.

Why its own module: the job runner (:mod:`pulumi_dicom_jobs.jobs`) only hands
out :class:`~pulumi_dicom_jobs.lro.status.OperationStatus` snapshots through its
``on_progress`` callback; turning those into something a person can watch is
the CLI's business and nothing else's. Two renderers share one
:class:`~pulumi_dicom_jobs.progress_text.Estimator` (elapsed time and ETA,
worked out below the faces, where the plugin's progress messages find it too):

* :class:`LiveProgress` - a terminal: a ``rich`` progress line that redraws
  several times a second (spinner, bar, counters, elapsed time, ETA). The bar
  is a pulse until the operation reports a total (``success + failure +
  pending``), then a real bar with an ETA.
* :class:`PlainProgress` - anything else (CI logs, pipes): one plain line per
  change of the counters, and a heartbeat line every ``heartbeat`` seconds
  while nothing changes, so a log shows the job is alive without flooding.

With progress turned off (``--no-progress``), :class:`NullProgress` still
prints the one ``Started ... operation NAME`` line: a CI log must keep the
name to act on.
"""

from __future__ import annotations

import time
from typing import IO, Callable, Optional

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.names import short_operation_name as short_name
from pulumi_dicom_jobs.progress_text import Estimator, format_duration, log_line

#: Seconds between "still running" lines when nothing changes (plain mode).
DEFAULT_HEARTBEAT_SECONDS = 15.0


def kind_of(status: Optional[OperationStatus], default: str = "job") -> str:
    """``import``, ``export`` or ``export to BigQuery`` from ``apiMethodName``."""
    kind = JobKind.of_method_name(status.api_method_name) if status else None
    return kind.noun if kind is not None else default


class Reporter:
    """What the CLI calls; subclasses render. Use as a context manager."""

    def __init__(self, kind: str = "job") -> None:
        self.kind = kind
        self.name: Optional[str] = None
        self.last: Optional[OperationStatus] = None
        self.estimator = Estimator()

    def started(self, name: str, verb: str = "Started") -> None:
        """A (new) operation is being watched (``verb``: "Started" or "Waiting for")."""
        self.name = name
        self.last = None
        self.estimator = Estimator()

    def update(self, status: OperationStatus) -> None:
        self.last = status
        self.estimator.observe(status)
        self.render(status)

    def render(self, status: OperationStatus) -> None:  # pragma: no cover - overridden
        pass

    def stop(self) -> None:
        pass

    def __enter__(self) -> "Reporter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class NullProgress(Reporter):
    """Shows no progress; only the ``Started`` line, when given a stream (module docstring)."""

    def __init__(self, kind: str = "job", stream: Optional[IO[str]] = None) -> None:
        super().__init__(kind)
        self.stream = stream

    def started(self, name: str, verb: str = "Started") -> None:
        super().started(name, verb)
        if self.stream is not None:
            self.stream.write(f"{verb} {self.kind} operation {name}\n")
            self.stream.flush()


class PlainProgress(Reporter):
    """One line per change (and a heartbeat), for logs and pipes."""

    def __init__(self, stream: IO[str], kind: str = "job",
                 heartbeat: float = DEFAULT_HEARTBEAT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(kind)
        self.stream = stream
        self.heartbeat = heartbeat
        self.clock = clock
        self._last_line: Optional[tuple] = None
        self._last_at = 0.0

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def started(self, name: str, verb: str = "Started") -> None:
        super().started(name, verb)
        self._last_line = None
        self._print(f"{verb} {self.kind} operation {name}")

    def render(self, status: OperationStatus) -> None:
        key = (status.done, status.success, status.failure, status.pending, status.cancel_requested)
        now = self.clock()
        if key == self._last_line and now - self._last_at < self.heartbeat:
            return
        self._last_line, self._last_at = key, now
        self._print(self.line(status))

    def line(self, status: OperationStatus) -> str:
        return log_line(status, self.estimator)


class _ElapsedColumn(ProgressColumn):
    def __init__(self, reporter: "LiveProgress") -> None:
        super().__init__()
        self.reporter = reporter

    def render(self, task: Task) -> Text:
        return Text(f"elapsed {format_duration(self.reporter.estimator.elapsed())}", style="cyan")


class _EtaColumn(ProgressColumn):
    def __init__(self, reporter: "LiveProgress") -> None:
        super().__init__()
        self.reporter = reporter

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("ETA -:--:--", style="dim")
        return Text(f"ETA {format_duration(self.reporter.estimator.eta())}", style="magenta")


class _CountersColumn(ProgressColumn):
    def __init__(self, reporter: "LiveProgress") -> None:
        super().__init__()
        self.reporter = reporter

    def render(self, task: Task) -> Text:
        status = self.reporter.last
        text = Text()
        text.append(f"success {status.success if status else 0}", style="green")
        text.append("  ")
        failure = status.failure if status else 0
        text.append(f"failure {failure}", style="red" if failure else "dim")
        text.append("  ")
        text.append(f"pending {status.pending if status else '?'}", style="yellow")
        return text


class LiveProgress(Reporter):
    """A live ``rich`` progress line for a terminal."""

    def __init__(self, console: Console, kind: str = "job") -> None:
        super().__init__(kind)
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[amount]}"),
            _CountersColumn(self),
            _ElapsedColumn(self),
            _EtaColumn(self),
            console=console, transient=False, refresh_per_second=8,
        )
        self.task_id = None
        self._running = False

    def started(self, name: str, verb: str = "Started") -> None:
        super().started(name, verb)
        self.console.print(f"{verb} {self.kind} operation [bold]{name}[/bold]", highlight=False)
        description = f"{self.kind} {short_name(name)}"
        if self.task_id is None:
            self.task_id = self.progress.add_task(description, total=None, amount="")
        else:
            self.progress.reset(self.task_id, description=description, total=None, amount="")
        if not self._running:
            self.progress.start()
            self._running = True

    def render(self, status: OperationStatus) -> None:
        if self.task_id is None:
            self.started(status.name)
        processed, total = status.processed, status.total
        if total > 0:
            self.progress.update(self.task_id, total=total, completed=processed,
                                 amount=f"{processed}/{total}")
        if status.done:
            self.progress.update(self.task_id, total=max(total, 1), completed=max(total, 1))

    def stop(self) -> None:
        if self._running:
            self.progress.refresh()
            self.progress.stop()
            self._running = False


def make_reporter(stream: IO[str], kind: str, *, enabled: bool = True,
                  heartbeat: float = DEFAULT_HEARTBEAT_SECONDS) -> Reporter:
    """Live on a capable terminal, plain lines otherwise, the ``Started`` line only when disabled."""
    if not enabled:
        return NullProgress(kind, stream)
    console = Console(file=stream, highlight=False)
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveProgress(console, kind)
    return PlainProgress(stream, kind, heartbeat=heartbeat)
