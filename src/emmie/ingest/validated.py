"""The validated review, kept so that the later stages do not validate it again.

``emmie validate --validated PATH`` writes the :class:`~emmie.ingest.review.Review` it built (typed DataFrames and
``review.yaml``) to ``PATH`` with :mod:`pickle`, and each later step given the same ``--validated PATH`` reads it
instead of parsing and checking every table again. At a million effect sizes that is about 47 s saved per step.

The file is used only when it still describes the data: it records the SHA-256 of every file the review was read
from (the review folder's tables and ``review.yaml``, and the shared ``_reference`` tables) and of the emmie code
that read them, and it is ignored, and the data read and checked as usual, when any of these differs. It lives in
``results/``, which emmie writes and only emmie reads; like any build folder, ``results/`` is trusted (pickle files
can run code when read), and it is never committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
from functools import lru_cache
from pathlib import Path

from emmie.ingest.review import Review
from emmie.io import atomic_write_bytes

FORMAT = 1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs(folder: Path) -> dict[str, str]:
    """SHA-256 of every file a review is read from: ``folder``'s tables and review.yaml, and ``../_reference``."""
    folder = Path(folder).resolve()
    files = (
        sorted(folder.glob("*.csv")) + [folder / "review.yaml"] + sorted((folder.parent / "_reference").glob("*.csv"))
    )
    return {f"{p.parent.name}/{p.name}": _sha256(p) for p in files if p.is_file()}


@lru_cache(maxsize=1)
def code() -> str:
    """SHA-256 of the emmie package's source: a review read by other code is read again."""
    import emmie

    root = Path(emmie.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    """The libraries whose objects the file holds: a file written under other versions is not read."""
    import numpy
    import pandas

    return {"numpy": numpy.__version__, "pandas": pandas.__version__}


def write(path: str | Path, review: Review | None, folder: str | Path, read_from: dict[str, str]) -> None:
    """Keep ``review`` (None: the data did not validate) for the later steps.

    ``read_from`` is :func:`inputs` taken before the data were read: when a file changed while they were read and
    checked, the review may hold neither version, so None is kept and the later steps read the data again.
    The file is one line of JSON (what the review was read from, and by what) and then the pickle, so a reader
    checks the line before it unpickles anything."""
    folder = Path(folder)
    now = inputs(folder)
    if now != read_from:
        review = None
    header = {"format": FORMAT, "code": code(), "versions": _versions(), "inputs": now, "valid": review is not None}
    # The folder is where the data are now, not part of the data: runs from two copies give the same bytes.
    body = pickle.dumps(None if review is None else dataclasses.replace(review, path=Path(review.id)), protocol=5)
    atomic_write_bytes(path, json.dumps(header, sort_keys=True).encode() + b"\n" + body)


def read(path: str | Path, folder: str | Path) -> Review | None:
    """The review kept at ``path`` if it was valid and still describes ``folder``'s files, else None."""
    folder = Path(folder).resolve()
    try:
        with Path(path).open("rb") as fh:
            header = json.loads(fh.readline())
            if not (
                isinstance(header, dict)
                and header.get("format") == FORMAT
                and header.get("valid") is True
                and header.get("code") == code()
                and header.get("versions") == _versions()
                and header.get("inputs") == inputs(folder)
            ):
                return None
            review = pickle.load(fh)  # noqa: S301 - emmie's own output in results/ (see the module docstring)
    except Exception:  # noqa: BLE001 - any unreadable file means: read and check the data again
        return None
    if not isinstance(review, Review):
        return None
    return dataclasses.replace(review, path=folder)
