"""Render a review's four HTML outputs and the toolkit landing page.

Every output is one self-contained file: CSS, SVG figures and scripts inline,
no request to any server when opened. All user text passes through Jinja2's
autoescaping.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from emmie import __version__
from emmie.findings import text
from emmie.ingest.labels import study_labels
from emmie.ingest.review import Review
from emmie.io import atomic_write_text, to_json
from emmie.pipeline import read_json, read_summaries
from emmie.report import context, tables
from emmie.report.html import href, link_mentions, scroll_regions

PAGES = {
    "index.html": "index.html.j2",
    "practice-guide.html": "practice-guide.html.j2",
    "implementation-summary.html": "implementation-summary.html.j2",
    "information-sheet.html": "information-sheet.html.j2",
}
OUTPUT_LABELS = {
    "index.html": "Full report",
    "practice-guide.html": "Practice guide",
    "implementation-summary.html": "Implementation summary",
    "information-sheet.html": "Information sheet",
}
# The run before the current data, and the current data's run: "what changed" compares them.
PREVIOUS, CURRENT = ".previous-run.json", ".current-run.json"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("emmie.report", "templates"),
        autoescape=True,  # every template is HTML; user text is always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Numbers are written by emmie.findings.text only, so no two pages can write one differently.
    env.filters["pval"] = text.fmt_p
    env.filters["num"] = text.fmt
    env.filters["href"] = href  # every link from the data passes here: http(s) or DOI only
    return env


def css() -> Markup:
    """The stylesheet, inlined as it is: CSS is never HTML-escaped (``details > *``, ``"Segoe UI"`` must
    reach the browser intact). It is our own file; one that could close its <style> element is refused."""
    text = resources.files("emmie.report").joinpath("templates/style.css").read_text(encoding="utf-8")
    if "</style" in text.lower():
        raise ValueError("style.css must not contain '</style'")
    return Markup(text)


def data_digest(review: Review) -> str:
    joined = "".join(f"{k}:{v};" for k, v in sorted(review.files.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:12]


def render_review(review: Review, results: Path, out: Path) -> None:
    """The review's four pages. Each is laid out with the bounds of :mod:`emmie.report.tables` and, should it pass
    ``tables.PAGE_BYTES_MAX``, again with every bound scaled down (``tables.SCALES``) until it fits; the notes on
    the page say what it leaves out and where that is."""
    summaries = read_summaries(results)
    rating = read_json(results / "emmie.json")
    findings = read_json(results / "findings.json")
    snapshot = context.snapshot(review, summaries, rating, data_digest(review))
    current = _read_snapshot(out / CURRENT)
    previous = _read_snapshot(out / PREVIOUS)
    if current is not None and current.get("digest") != snapshot["digest"]:
        previous = current  # the data changed since the last report
    rendered: dict[str, str] = {}
    for scale in tables.SCALES:
        with tables.scaled(scale):
            pages = _render_pages(review, results, summaries, rating, findings, previous, snapshot, set(rendered))
        for name, html in pages.items():
            size = len(html.encode("utf-8"))
            if size <= tables.PAGE_BYTES_MAX or scale == tables.SCALES[-1]:
                rendered[name] = html
            if size > tables.PAGE_BYTES_MAX and scale == tables.SCALES[-1]:
                print(
                    f"warning: {out / name} is {size:,} bytes, more than {tables.PAGE_BYTES_MAX:,}, even with "
                    f"every page bound at {scale:g} of its default; it is written as it is",
                    file=sys.stderr,
                )
        if len(rendered) == len(PAGES):
            break
    # Write only once every page rendered: nothing half-written.
    for name in PAGES:
        atomic_write_text(out / name, rendered[name])
    if previous is not None:
        atomic_write_text(out / PREVIOUS, to_json(previous))
    atomic_write_text(out / CURRENT, to_json(snapshot))


def _render_pages(
    review: Review,
    results: Path,
    summaries: dict[str, Any],
    rating: dict[str, Any],
    findings: dict[str, Any],
    previous: dict[str, Any] | None,
    snapshot: dict[str, Any],
    done: set[str],
) -> dict[str, str]:
    """The pages not in ``done``, laid out at the current bounds."""
    ctx = context.build(review, results, summaries, rating, findings)
    ctx["changes"] = context.changes(previous, snapshot) if previous is not None else None
    env = environment()
    base = {
        "version": __version__,
        "css": css(),
        "data_path": f"data/{review.id}",
        "data_digest": snapshot["digest"],
        "footer_note": "",
        "kicker": "EMMIE evidence review",
    }
    rendered = {}
    # Mentions of a study are linked only where its reference is listed (a long list is bounded: report.tables).
    labels = {sid: label for sid, label in study_labels(review).items() if ctx["studies"][sid]["listed"]}
    for name, template in PAGES.items():
        if name in done:
            continue
        outputs = [{"href": n, "label": OUTPUT_LABELS[n], "current": n == name} for n in PAGES]
        page_ctx = {**base, **ctx, **ctx["pages"][name], "outputs": outputs}
        rendered[name] = link_mentions(scroll_regions(env.get_template(template).render(**page_ctx)), labels)
    return rendered


def _read_config(path: Path) -> dict[str, Any]:
    from emmie.ingest.yamlfile import read_yaml

    return read_yaml(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _read_snapshot(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged snapshot only costs the "what changed" section


def render_failed(review_id: str, results: Path, out: Path) -> None:
    """The four pages of a review whose data did not validate: the messages, nothing else."""
    record = read_json(results / "validation.json")
    env = environment()
    html = env.get_template("failed.html.j2").render(
        version=__version__,
        css=css(),
        page_title=f"{review_id}: not reported",
        kicker="emmie: validation failed",
        data_path=f"data/{review_id}",
        data_digest="",
        footer_note="",
        review_id=review_id,
        problems=record["problems"],
    )
    html = scroll_regions(html)
    for name in PAGES:
        atomic_write_text(out / name, html)


def render_toolkit(validations: list[Path], results: Path, out: Path, data: Path = Path("data")) -> None:
    """The toolkit page at ``out``: a card per review. A review is shown only when its report (in the folder
    beside ``out``) and the results it comes from were made after its data were last validated; otherwise its
    card says that a step failed (the page is also made after a failed run, by the workflow's ``onerror``)."""
    rows = []
    for path in validations:
        # After a failed run (the workflow's onerror) a review may not have been validated at all.
        record = (
            read_json(path)
            if path.is_file()
            else {"review": path.parent.name, "ok": False, "problems": [], "not_run": True}
        )
        review_id = record["review"]
        emmie_json = results / review_id / "emmie.json"
        findings_json = results / review_id / "findings.json"
        report = out.parent / review_id / "index.html"
        outputs = (emmie_json, findings_json, report)
        stale = record["ok"] and any(p.is_file() and p.stat().st_mtime < path.stat().st_mtime for p in outputs)
        current = record["ok"] and not stale and all(p.is_file() for p in outputs)
        rows.append(
            context.toolkit_row(
                record,
                read_json(emmie_json) if current else None,
                read_json(findings_json) if current else None,
                _read_config(data / review_id / "review.yaml") if record["ok"] else {},
                stale=stale,
                logs=str(results / "logs" / review_id),
            )
        )
    env = environment()
    html = env.get_template("toolkit.html.j2").render(
        version=__version__,
        css=css(),
        rows=rows,
        dimension_keys=[(key, name) for key, name, *_ in context.DIMENSIONS],
        rubric=context.rubric_levels(),
        page_title="Evidence toolkit",
        kicker="emmie toolkit",
        data_path="data",
        data_digest="",
        footer_note="",
    )
    atomic_write_text(out, scroll_regions(html))
