"""Small HTML helpers: inlining SVG figures and data safely."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup

_XML_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.S)
_SCRIPT_OR_HANDLER = re.compile(r"<script|\son\w+\s*=|javascript:", re.I)


def inline_svg(text: str | None) -> Markup | None:
    """An SVG file's text, ready to place inside HTML (prolog and DOCTYPE removed).

    The SVGs come from emmie's own matplotlib code, which escapes text; a figure
    that nevertheless holds script is refused rather than inlined.
    """
    if not text:
        return None
    body = _XML_PROLOG.sub("", text, count=1)
    if _SCRIPT_OR_HANDLER.search(body):
        raise ValueError("refusing to inline an SVG that contains script")
    return Markup(body)


def read_svg(path: Path) -> Markup | None:
    return inline_svg(path.read_text(encoding="utf-8")) if path.is_file() else None


def script_json(obj: Any) -> Markup:
    """JSON that is safe inside a <script> element (no '</' or HTML comment openers)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)
