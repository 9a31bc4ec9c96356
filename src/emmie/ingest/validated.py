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


def write(path: str | Path, review: Review | None, folder: str | Path) -> None:
    """Keep ``review`` (None: the data did not validate) with the digests of what it was read from."""
    payload = {
        "format": FORMAT,
        "code": code(),
        "inputs": inputs(Path(folder)),
        # The folder is where the data are now, not part of the data: runs from two copies give the same bytes.
        "review": None if review is None else dataclasses.replace(review, path=Path(review.id)),
    }
    atomic_write_bytes(path, pickle.dumps(payload, protocol=5))


def read(path: str | Path, folder: str | Path) -> Review | None:
    """The review kept at ``path`` if it was valid and still describes ``folder``'s files, else None."""
    try:
        with Path(path).open("rb") as fh:
            payload = pickle.load(fh)  # noqa: S301 - emmie's own output in results/ (see the module docstring)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    folder = Path(folder).resolve()
    if (
        not isinstance(payload, dict)
        or payload.get("format") != FORMAT
        or payload.get("code") != code()
        or not isinstance(payload.get("review"), Review)
        or payload.get("inputs") != inputs(folder)
    ):
        return None
    return dataclasses.replace(payload["review"], path=folder)
