"""Small HTML helpers: inlining SVG figures and data safely."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

_XML_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.S)
_ACTIVE_ELEMENTS = {"script", "foreignobject", "iframe", "object", "embed", "handler", "listener"}
# The one data: link a figure may hold: a raster image (matplotlib draws a large figure's many marks as one PNG).
_RASTER = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]*", re.I)


def script_in_svg(body: str) -> str | None:
    """What in an SVG could run script, or None: an active element, an ``on...`` attribute, or a link
    to ``javascript:``/``data:`` (other than a base64 PNG or JPEG in an ``<image>``, which cannot hold script).
    Elements and attributes are checked, never the text: a label such as 'online = 24/7' or 'javascript: a
    tutorial' is text, escaped by the SVG writer, and harmless."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        return f"it is not well-formed XML ({exc})"
    for el in root.iter():
        tag = str(el.tag).rsplit("}", 1)[-1].lower()
        if tag in _ACTIVE_ELEMENTS:
            return f"a <{tag}> element"
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return f"an event-handler attribute {local!r}"
            if local == "href" and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(("javascript:", "data:")):
                if tag == "image" and _RASTER.fullmatch(value):
                    continue
                return f"a link to {value[:40]!r}"
    return None


def inline_svg(text: str | None) -> Markup | None:
    """An SVG file's text, ready to place inside HTML (prolog and DOCTYPE removed).

    The SVGs come from emmie's own matplotlib code, which escapes text; a figure
    that nevertheless holds script is refused rather than inlined.
    """
    if not text:
        return None
    body = _XML_PROLOG.sub("", text, count=1)
    why = script_in_svg(body)
    if why:
        raise ValueError(f"refusing to inline an SVG that could run script: {why}")
    return Markup(body)


def read_svg(path: Path) -> Markup | None:
    return inline_svg(path.read_text(encoding="utf-8")) if path.is_file() else None


def script_json(obj: Any) -> Markup:
    """JSON that is safe inside a <script> element (no '</' or HTML comment openers)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


_TABLE_WRAP = re.compile(r'<div class="(table-wrap[^"]*)">(\s*<table[^>]*>\s*<caption)')


def scroll_regions(page: str) -> str:
    """Every table's scrolling container made a focusable region named by the table's caption.

    A table wider than a phone scrolls inside its ``div.table-wrap``; keyboard users can only scroll
    it if it takes the focus (WCAG 2.1.1; axe-core's ``scrollable-region-focusable``). Every
    wrapper must hold a captioned table: one that does not is a template error, refused here.
    """
    ids = itertools.count(1)

    def label(m: re.Match[str]) -> str:
        i = next(ids)
        return f'<div class="{m[1]}" tabindex="0" role="region" aria-labelledby="table-{i}">{m[2]} id="table-{i}"'

    out = _TABLE_WRAP.sub(label, page)
    if re.search(r'<div class="table-wrap[^"]*">', out):
        raise ValueError("a div.table-wrap in a template does not hold a captioned table")
    return out


# Left as they are: raw-text elements, SVG, and each reference entry itself (its citation reads like a label).
_RAW = re.compile(r'<(script|style|svg|title|textarea)\b[\s\S]*?</\1\s*>|<li\b[^>]*\bid="ref-[^"]*"[\s\S]*?</li>', re.I)
_TAG = re.compile(r"(<[^>]*>)")
_SKIP_OPEN = re.compile(r"<(a|h[1-6]|option|summary|button|label)\b", re.I)
_SKIP_CLOSE = re.compile(r"</(a|h[1-6]|option|summary|button|label)\s*>", re.I)


def link_mentions(page: str, labels: dict[str, str], *, elsewhere: str = "index.html") -> str:
    """Every mention of a study by its label ('Keddell (2014)') in a page's text linked to its reference.

    ``labels`` maps ``study_id`` to label. A study whose reference entry (``id="ref-<study_id>"``) is on
    the page links there; otherwise to the entry in ``elsewhere`` (the full report). Text inside links,
    headings, form controls, scripts, styles, SVG, titles and the reference entries themselves is left
    as it is, as are attributes.
    """
    if not labels:
        return page
    targets = {}
    for sid, label in labels.items():
        href = f"#ref-{sid}" if f'id="ref-{sid}"' in page else f"{elsewhere}#ref-{sid}"
        targets[str(escape(label))] = href  # as the label reads once Jinja has escaped it
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(targets, key=len, reverse=True)) + r")(?![\w])"
    )

    def in_text(chunk: str) -> str:
        out, depth = [], 0
        for piece in _TAG.split(chunk):
            if piece.startswith("<"):
                if _SKIP_OPEN.match(piece):
                    depth += 1
                elif _SKIP_CLOSE.match(piece):
                    depth = max(0, depth - 1)
                out.append(piece)
            elif depth or not piece.strip():
                out.append(piece)
            else:
                out.append(pattern.sub(lambda m: f'<a href="{targets[m[1]]}">{m[1]}</a>', piece))
        return "".join(out)

    body_at = page.find("<body")
    head, body = (page[:body_at], page[body_at:]) if body_at >= 0 else ("", page)
    parts, last = [], 0
    for m in _RAW.finditer(body):
        parts.append(in_text(body[last : m.start()]))
        parts.append(m.group(0))
        last = m.end()
    parts.append(in_text(body[last:]))
    return head + "".join(parts)


def href(url: str) -> str:
    """A link target from the data: an http(s) URL as it is, a DOI as its https://doi.org/ address.

    Anything else (``javascript:``, ``data:``, a relative path) is refused, whatever the validator let
    through: a link in a report must never run script or point into the reader's machine.
    """
    from emmie.ingest.cells import DOI_RE, URL_RE

    value = str(url).strip()
    if URL_RE.match(value):
        return value
    if DOI_RE.match(value):
        return f"https://doi.org/{value}"
    raise ValueError(f"refusing to write a link to {value[:80]!r}: only http(s) URLs and DOIs are linked")
