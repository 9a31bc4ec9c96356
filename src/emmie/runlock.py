"""Recovering from a killed run: a stale Snakemake lock is cleared only when no Snakemake is running.

Snakemake locks the working directory (``.snakemake/locks/``) while it runs and records outputs it
has started (``.snakemake/incomplete/``). A run killed with SIGKILL (or by a power cut) cleans up
neither, and every later run stops at the lock. ``make report`` calls :func:`clear_stale_lock` first
and then runs Snakemake with ``--rerun-incomplete``, so a killed run recovers without extra flags. A
lock held by a live Snakemake process in the same directory is left alone: two runs at once would
corrupt each other's outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

from emmie.errors import EmmieError


def snakemake_processes(directory: Path) -> list[int]:
    """PIDs of live Snakemake processes whose working directory (or ``--directory``) is ``directory``."""
    directory = directory.resolve()
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = Path(os.readlink(entry / "cwd")).resolve()
        except OSError:
            continue  # gone, or not ours to read
        words = [a.decode(errors="replace") for a in argv if a]
        if not any(Path(w).name.startswith("snakemake") for w in words[:3]):
            continue
        target = cwd
        for flag, value in zip(words, words[1:], strict=False):
            if flag in ("--directory", "-d"):
                target = (cwd / value).resolve()
        if target == directory:
            found.append(int(entry.name))
    return found


def clear_stale_lock(directory: str | Path = ".") -> str:
    """Remove Snakemake's locks in ``directory`` when no Snakemake runs there; say what was done.

    Raises :class:`EmmieError` when a live run holds the lock.
    """
    directory = Path(directory)
    locks = directory / ".snakemake" / "locks"
    held = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    if not held:
        return ""
    alive = snakemake_processes(directory)
    if alive:
        raise EmmieError(
            f"another run is in progress in {directory.resolve()} (Snakemake process {', '.join(map(str, alive))}); "
            "wait for it to finish, or stop it, and run again"
        )
    for lock in held:
        lock.unlink(missing_ok=True)
    return f"cleared a stale lock left by a run that was stopped ({len(held)} lock file(s) in .snakemake/locks)"
