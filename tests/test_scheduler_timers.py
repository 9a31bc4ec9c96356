"""The Snakefile's hooks stop Snakemake's leftover scheduler timers, so a run ends when its work does."""

from __future__ import annotations

import re
import threading

from emmie.pipeline import cancel_scheduler_timers

from support import ROOT


def test_a_waiting_timer_is_cancelled_and_other_threads_are_left_alone():
    fired = threading.Event()
    timer = threading.Timer(60, fired.set)  # what the scheduler leaves behind (one second there)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)  # any other thread: not ours to stop
    timer.start()
    worker.start()
    try:
        assert cancel_scheduler_timers() >= 1
        timer.join(timeout=5)
        assert not timer.is_alive()
        assert not fired.is_set()  # cancelled, not fired early
        assert worker.is_alive()
    finally:
        stop.set()
        worker.join(timeout=5)
        timer.cancel()


def test_nothing_to_cancel_is_fine():
    assert cancel_scheduler_timers() == 0


def test_both_hooks_of_the_snakefile_cancel_the_timers():
    text = (ROOT / "Snakefile").read_text(encoding="utf-8")
    for hook in ("onsuccess", "onerror"):
        block = re.search(rf"^{hook}:\n((?:    .*\n|\n)+)", text, flags=re.M)
        assert block, f"no {hook} hook"
        assert "cancel_scheduler_timers()" in block.group(1), hook
