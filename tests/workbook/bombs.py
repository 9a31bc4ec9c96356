"""Workbook bombs for the tests: a small .xlsx whose one sheet holds (or declares) a great many cells.

Built from an emmie template by replacing one sheet's XML, streamed into the zip, so that a file of a
few hundred kilobytes unpacks to tens of megabytes, as the bombs of issue 15 did.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path


def sheet_member(z: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding the worksheet named ``sheet``."""
    workbook = z.read("xl/workbook.xml").decode()
    rid = re.search(rf'<sheet name="{re.escape(sheet)}"[^>]*r:id="(rId\d+)"', workbook).group(1)
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rel = next(r for r in re.findall(r"<Relationship [^>]*>", rels) if f'Id="{rid}"' in r)
    target = re.search(r'Target="/?([^"]+)"', rel).group(1)
    return target if target.startswith("xl/") else "xl/" + target


def write_bomb(
    template: Path,
    out: Path,
    sheet: str,
    header: list[str],
    row_xml: str,
    rows: int,
    dimension: str | None,
) -> Path:
    """Copy ``template`` to ``out`` with sheet ``sheet`` holding ``header`` and ``rows`` copies of ``row_xml``
    (the ``<c>`` elements of one row), under a ``<dimension ref=...>`` of ``dimension`` (none if None)."""
    with zipfile.ZipFile(template) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
        member = sheet_member(z, sheet)
        for info in z.infolist():
            if info.filename != member:
                w.writestr(info, z.read(info))
                continue
            with w.open(member, "w") as fh:
                fh.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
                if dimension:
                    fh.write(f'<dimension ref="{dimension}"/>'.encode())
                fh.write(b"<sheetData>")
                head = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in header)
                fh.write(f"<row>{head}</row>".encode())
                block = (f"<row>{row_xml}</row>" * 1000).encode()
                for _ in range(rows // 1000):
                    fh.write(block)
                fh.write((f"<row>{row_xml}</row>" * (rows % 1000)).encode())
                fh.write(b"</sheetData></worksheet>")
    return out
