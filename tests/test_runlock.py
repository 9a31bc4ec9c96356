"""A stale Snakemake lock is cleared only when no Snakemake runs in the directory."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from emmie.errors import EmmieError
from emmie.runlock import clear_stale_lock, snakemake_processes


def lock(directory: Path) -> Path:
    locks = directory / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    path = locks / "0.input.lock"
    path.write_text("x")
    return path


def test_no_lock_nothing_to_do(tmp_path: Path):
    assert clear_stale_lock(tmp_path) == ""


def test_a_lock_with_no_live_run_is_cleared(tmp_path: Path):
    path = lock(tmp_path)
    assert "cleared a stale lock" in clear_stale_lock(tmp_path)
    assert not path.exists()


def test_a_lock_held_by_a_live_run_is_kept(tmp_path: Path):
    path = lock(tmp_path)
    fake = tmp_path / "bin" / "snakemake"  # a process whose command line reads as Snakemake's
    fake.parent.mkdir()
    fake.write_text("import time\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, str(fake)], cwd=tmp_path)
    try:
        for _ in range(50):
            if snakemake_processes(tmp_path):
                break
            time.sleep(0.05)
        assert snakemake_processes(tmp_path) == [proc.pid]
        assert snakemake_processes(tmp_path / "bin") == []  # another directory is not this one
        with pytest.raises(EmmieError, match=f"another run is in progress.*{proc.pid}"):
            clear_stale_lock(tmp_path)
        assert path.exists()
    finally:
        proc.kill()
        proc.wait()
    assert "cleared" in clear_stale_lock(tmp_path)


def test_unlock_command_says_what_it_did(tmp_path: Path):
    lock(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "emmie", "unlock", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr.startswith("emmie: cleared a stale lock")
    proc = subprocess.run([sys.executable, "-m", "emmie", "unlock", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
