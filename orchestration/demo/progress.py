"""Progress of a Dagster run as it happens: each step, each asset materialized, each check.

`RunProgress` listens to the run's events on the instance (`instance.add_event_listener`, called
as each event is stored), so the lines come from Dagster's own record of the run, not from
guesses. A step is announced once it has run for `ANNOUNCE_SECONDS` (quick ones only get their
"done" line), and one that goes quiet (training a model) gets a line every `HEARTBEAT_SECONDS`, so
the terminal never sits still for long.

    with RunProgress("nightly", run_id, instance, out=sys.stdout):
        job.execute_in_process(run_id=run_id, instance=instance, ...)
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import TextIO

import dagster as dg

ANNOUNCE_SECONDS = 2.0
HEARTBEAT_SECONDS = 10.0
_STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
}


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


class RunProgress:
    """Prints one run's progress to `out` while the block runs."""

    def __init__(
        self, title: str, run_id: str, instance: dg.DagsterInstance, out: TextIO, indent: str = ""
    ) -> None:
        self.title = title
        self.run_id = run_id
        self.instance = instance
        self.out = out
        self.indent = indent
        self.started = time.monotonic()
        self.last_line = self.started
        self.steps: dict[str, float] = {}  # running step -> when it started
        self.announced: set[str] = set()
        self.failed_checks: list[str] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ticker = threading.Thread(target=self._heartbeat, name="run-progress", daemon=True)

    def __enter__(self) -> RunProgress:
        self.instance.add_event_listener(self.run_id, self)
        self._ticker.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._done.set()
        self._ticker.join(5)

    def line(self, text: str) -> None:
        with self._lock:
            now = time.monotonic()
            print(f"{self.indent}{clock(now - self.started):>6}  {text}", file=self.out, flush=True)
            self.last_line = now

    def _heartbeat(self) -> None:
        while not self._done.wait(0.5):
            now = time.monotonic()
            for step, since in list(self.steps.items()):
                if step not in self.announced and now - since >= ANNOUNCE_SECONDS:
                    self.announced.add(step)
                    self.line(f"{step}: running")
            if now - self.last_line >= HEARTBEAT_SECONDS and self.steps:
                step, since = next(reversed(self.steps.items()))
                self.line(f"{step}: still running ({now - since:,.0f} s)")

    def __call__(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:  # a log message of the step's code: its warnings say what it skipped
            if isinstance(entry.level, int) and entry.level >= logging.WARNING:
                self.line(f"  {entry.step_key or 'run'}: {entry.user_message}")
            return
        kind = event.event_type
        step = event.step_key or ""
        if kind in _STEP_EVENTS:
            self._step(kind, step, entry)
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None:
            self.line(f"  {event.asset_key.to_user_string()} materialized")
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            name = f"{evaluation.asset_key.to_user_string()} / {evaluation.check_name}"
            if evaluation.passed:
                return  # a dbt build passes dozens: only failures are worth a line
            severity = evaluation.severity.value.lower()
            self.failed_checks.append(name)
            self.line(f"  check {name}: FAILED ({severity})")

    def _step(self, kind: dg.DagsterEventType, step: str, entry: dg.EventLogEntry) -> None:
        if kind == dg.DagsterEventType.STEP_START:
            self.steps[step] = time.monotonic()
            return
        since = self.steps.pop(step, None)
        took = f" in {time.monotonic() - since:,.1f} s" if since is not None else ""
        if kind == dg.DagsterEventType.STEP_SUCCESS:
            self.line(f"{step}: done{took}")
        elif kind == dg.DagsterEventType.STEP_SKIPPED:
            self.line(f"{step}: skipped (nothing upstream to work on)")
        else:
            error = entry.dagster_event.step_failure_data.error if entry.dagster_event else None
            reason = error.message.strip().splitlines()[-1] if error and error.message else ""
            self.line(f"{step}: FAILED{took} {reason}".rstrip())
