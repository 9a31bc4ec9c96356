"""The tiny review's project with hostile user text, and a small HTML tree for the report tests.

``conftest.py`` builds the project once per test session for ``test_html.py`` and ``test_browser.py``.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

from support import ROOT, TINY

PAGES = ("index", "practice-guide", "implementation-summary", "information-sheet")
REVIEWS = ("sos", "cbt-recidivism", "school-calendars")  # the bundled reviews

# User text that would run if the report did not escape it: a citation (the brief's case),
# an implementation excerpt and a CMO excerpt (the latter travels as JSON inside a <script>).
HOSTILE_CITATION = "<script>alert(1)</script>"
HOSTILE_EXCERPT = "<img src=x onerror=alert(2)>"
HOSTILE_CMO_EXCERPT = "</script><script>alert(3)</script>"
HOSTILE_STUDY = "ferguson1949"


def _edit_csv(path: Path, key: str, value: str, column: str, text: str) -> None:
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    header = list(rows[0])
    assert any(r[key] == value for r in rows), f"{path.name} has no row {key}={value}"
    for r in rows:
        if r[key] == value:
            r[column] = text
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def make_project(root: Path) -> Path:
    """The pipeline's project layout around a copy of the tiny review, with hostile user text."""
    (root / "config").mkdir(parents=True)
    (root / "config" / "config.yaml").write_text("reviews:\n  - tiny\n")
    data = root / "data" / "tiny"
    shutil.copytree(TINY, data)
    shutil.copytree(ROOT / "data" / "_reference", root / "data" / "_reference")
    _edit_csv(data / "studies.csv", "study_id", HOSTILE_STUDY, "citation", HOSTILE_CITATION)
    _edit_csv(data / "implementation.csv", "impl_id", "i1", "excerpt", HOSTILE_EXCERPT)
    _edit_csv(data / "cmo.csv", "cmo_id", "x1", "excerpt", HOSTILE_CMO_EXCERPT)
    return root


def run_pipeline(project: Path) -> subprocess.CompletedProcess:
    """The whole Snakefile on ``project`` (as ``make report`` would run it there)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(project)]
    return subprocess.run([*cmd, "--cores", "2"], capture_output=True, text=True, cwd=project)


# --------------------------------------------------------------------------- a minimal DOM

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None):
        for c in self.children:
            if isinstance(c, Node):
                if tag is None or c.tag == tag:
                    yield c
                yield from c.iter(tag)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with this tag whose attributes equal ``attrs`` (``class_`` for class; underscores to dashes)."""
        want = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [n for n in self.iter(tag) if all(n.attrs.get(k) == v for k, v in want.items())]

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        hits = self.find_all(tag, **attrs)
        assert hits, f"no <{tag}> with {attrs}"
        return hits[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root
        self.unclosed: list[str] = []
        self.stray: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag: str) -> None:
        open_tags = []
        node = self.current
        while node is not self.root and node.tag != tag:
            open_tags.append(node.tag)
            node = node.parent
        if node is self.root:
            self.stray.append(tag)  # an end tag with no open element: ignored, as browsers do
            return
        self.unclosed += open_tags  # elements closed implicitly by this end tag (p, li, ...)
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


INLINE = {"a", "abbr", "b", "code", "em", "i", "q", "small", "span", "strong", "sub", "sup", "time"}


def visible(node: Node, skip: tuple[str, ...] = ("script", "style", "svg")) -> str:
    """The text a reader sees: block elements apart, inline ones (a link in a sentence) in the flow."""
    return " ".join(_visible(node, skip).split())


def _visible(node: Node, skip: tuple[str, ...]) -> str:
    parts = []
    for c in node.children:
        if isinstance(c, str):
            parts.append(c)
        elif c.tag in INLINE:
            parts.append(_visible(c, skip))
        elif c.tag not in skip:
            parts.append(" " + _visible(c, skip) + " ")
    return "".join(parts)


def norm(text: str) -> str:
    return " ".join(unescape(text).split())
