"""The Snakefile's hooks stop Snakemake's leftover scheduler timers, so a run ends when its work does."""

from __future__ import annotations

import re
import threading
from types import SimpleNamespace

from snakemake.scheduling.job_scheduler import JobScheduler

from emmie.pipeline import SCHEDULER_MODULE, cancel_scheduler_timers

from support import ROOT


def _scheduler_timer(delay: float) -> tuple[threading.Thread, threading.Semaphore]:
    """The timer Snakemake's own code starts after a pass over the queue (on a stand-in scheduler)."""
    before = set(threading.enumerate())
    woken = threading.Semaphore(0)
    JobScheduler._schedule_reevalutation(SimpleNamespace(_open_jobs=woken), delay)
    (timer,) = set(threading.enumerate()) - before
    return timer, woken


def test_snakemakes_scheduler_timer_is_cancelled():
    timer, woken = _scheduler_timer(60)
    assert isinstance(timer, threading.Timer) and timer.function.__module__ == SCHEDULER_MODULE
    try:
        assert cancel_scheduler_timers() == 1
        timer.join(timeout=5)
        assert not timer.is_alive()
        assert not woken.acquire(blocking=False)  # cancelled, not fired early
    finally:
        timer.cancel()


def test_other_timers_and_threads_are_left_alone():
    fired = threading.Event()
    other = threading.Timer(60, fired.set)  # someone else's timer: not ours to stop
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    other.start()
    worker.start()
    try:
        assert cancel_scheduler_timers() == 0
        assert other.is_alive() and worker.is_alive()
    finally:
        other.cancel()
        stop.set()
        worker.join(timeout=5)
        other.join(timeout=5)


def test_both_hooks_of_the_snakefile_cancel_the_timers():
    text = (ROOT / "Snakefile").read_text(encoding="utf-8")
    for hook in ("onsuccess", "onerror"):
        block = re.search(rf"^{hook}:\n((?:    .*\n|\n)+)", text, flags=re.M)
        assert block, f"no {hook} hook"
        assert "cancel_scheduler_timers()" in block.group(1), hook
