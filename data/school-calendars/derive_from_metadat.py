"""Derive the coded tables of this folder from the modified-school-calendar data of Konstantopoulos (2011).

Input: ``dat.konstantopoulos2011`` (R package metadat 1.2.0), exported with
``write.csv(dat.konstantopoulos2011, row.names = FALSE)`` to
``tests/fixtures/multilevel/konstantopoulos2011.csv``. The rules applied here are the ones stated in ``README.md``;
run this file to regenerate ``studies.csv``, ``effects.csv``, ``moderators.csv``, ``prisma.csv`` and the
header-only tables.

    python data/school-calendars/derive_from_metadat.py [path/to/konstantopoulos2011.csv]
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_INPUT = HERE.parents[1] / "tests" / "fixtures" / "multilevel" / "konstantopoulos2011.csv"

DATA = (
    "Konstantopoulos, S. (2011). Fixed effects and variance components estimation in three-level meta-analysis. "
    "Research Synthesis Methods, 2(1), 61-76. doi:10.1002/jrsm.35; data from Cooper, H., Valentine, J. C., "
    "Charlton, K., & Melson, A. (2003). The effects of modified school calendars on student achievement and on "
    "school and community attitudes. Review of Educational Research, 73(1), 1-52. doi:10.3102/00346543073001001; "
    "study-level data as distributed in R package metadat 1.2.0, data set dat.konstantopoulos2011 (W. Viechtbauer)"
)
REVIEW_DOI = "10.3102/00346543073001001"
ABSTRACT = (
    "Cooper, Valentine, Charlton & Melson (2003), Review of Educational Research 73(1):1-52, "
    "doi:10.3102/00346543073001001, abstract (read at scholars.duke.edu/individual/pub663573)"
)

STUDY_COLUMNS = [
    "study_id", "citation", "year", "country", "design", "comparison", "n", "sample", "setting", "rob_tool",
    "rob_overall", "relevance", "rigour", "url", "in_original_review", "source", "source_page", "verified", "note",
]  # fmt: skip
EFFECT_COLUMNS = [
    "effect_id", "study_id", "outcome", "timepoint", "measure", "estimate", "se", "source", "source_page",
    "verified", "note",
]  # fmt: skip
HEADERS = {
    "cmo.csv": "cmo_id,study_id,context,component,mechanism,enables,outcome,stance,evidence,excerpt,source,"
    "source_page,verified,note",
    "implementation.csv": "impl_id,study_id,type,theme,level,excerpt,source,source_page,verified,note",
    "economics.csv": "econ_id,study_id,item,kind,amount,currency,price_year,unit,n_units,outcome,excerpt,source,"
    "source_page,verified,note",
}
PRISMA_BOXES = (
    "identified_databases", "identified_registers", "identified_other", "duplicates_removed", "removed_other",
    "records_screened", "records_excluded", "reports_sought", "reports_not_retrieved", "reports_assessed",
    "reports_excluded", "studies_included", "reports_included",
)  # fmt: skip


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def derive(rows: list[dict[str, str]]) -> dict[str, list[dict[str, object]]]:
    districts: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, r in enumerate(rows, start=1):
        districts.setdefault(r["district"], []).append((i, r))
    studies, effects = [], []
    for district, members in districts.items():
        sid = f"district{district}"
        years = sorted({int(r["year"]) for _, r in members})
        first, last = members[0][0], members[-1][0]
        studies.append(
            {
                "study_id": sid,
                "citation": f"District {district} evaluation ({years[0]}), as coded by Cooper et al. (2003) and "
                "published by Konstantopoulos (2011); the district's own report is not part of the published data set",
                "year": years[0],
                "country": "Not reported in the published data set",
                "design": "quasi_experimental",
                "comparison": "schools on a traditional calendar (as described in the data set's documentation; "
                "how each district chose its comparison schools is not in the data set)",
                "n": "",
                "sample": f"{len(members)} schools of district {district} on a modified calendar, each compared with "
                "students on a traditional calendar",
                "setting": "K-12 schools",
                "rob_tool": "none",
                "rob_overall": "not_assessed",
                "relevance": "high",
                "rigour": "low",
                "url": REVIEW_DOI,
                "in_original_review": "yes",
                "source": DATA,
                "source_page": f"dat.konstantopoulos2011 rows {first}-{last} (district {district})",
                "verified": "partial",
                "note": "District number, schools and year copied from the data set"
                + (f" (its schools give the years {', '.join(map(str, years))}; the first is used)" if len(years) > 1 else "")
                + ". Design: a comparison of schools on the two calendars (Cooper et al.'s abstract: 'Most evaluations "
                "made no attempt to equate groups'); risk of bias not assessed per district because the data set "
                "does not say which districts used statistical or matching controls; rigour low by the abstract's "
                "review-level judgement ('the quality of evidence on modified calendars is poor'). url is the review's "
                "DOI because the district's report is not in the data set.",
            }
        )
        for i, r in members:
            vi = float(r["vi"])
            effects.append(
                {
                    "effect_id": f"{sid}_school{r['school']}",
                    "study_id": sid,
                    "outcome": "achievement",
                    "timepoint": "",
                    "measure": "GEN",
                    "estimate": r["yi"],
                    "se": repr(math.sqrt(vi)),
                    "source": DATA,
                    "source_page": f"dat.konstantopoulos2011 row {i} (district {district}, school {r['school']}: "
                    f"yi = {r['yi']}, vi = {r['vi']})",
                    "verified": "yes",
                    "note": "Standardised mean difference (modified minus traditional calendar; positive = higher "
                    "achievement on the modified calendar) copied from the data set; se = sqrt(vi) of the data set's "
                    "sampling variance, so that se^2 gives vi back to rounding.",
                }
            )
    prisma = []
    for box in PRISMA_BOXES:
        if box == "studies_included":
            prisma.append(
                {
                    "box": box,
                    "count": len(studies),
                    "detail": f"{len(studies)} school districts ({len(effects)} school-level comparisons), the subset "
                    "of Cooper et al.'s districts published by Konstantopoulos (2011)",
                    "source": DATA,
                    "source_page": "dat.konstantopoulos2011 (all rows); Cooper et al. (2003) abstract",
                    "verified": "yes",
                    "note": "Cooper et al.'s abstract reports an average effect 'for 39 school districts'; the published "
                    "data set holds 11 of them, so this review re-analyses a subset.",
                }
            )
        else:
            prisma.append(
                {
                    "box": box,
                    "count": "",
                    "detail": "",
                    "source": ABSTRACT,
                    "source_page": "not read",
                    "verified": "no",
                    "note": "Not retrieved: only the abstract of Cooper et al. (2003) was read, so its search and "
                    "screening counts are not coded.",
                }
            )
    moderators = [{"study_id": s["study_id"], "year": s["year"]} for s in studies]
    return {"studies.csv": studies, "effects.csv": effects, "prisma.csv": prisma, "moderators.csv": moderators}


def write(folder: Path, tables: dict[str, list[dict[str, object]]]) -> None:
    columns = {
        "studies.csv": STUDY_COLUMNS,
        "effects.csv": EFFECT_COLUMNS,
        "prisma.csv": ["box", "count", "detail", "source", "source_page", "verified", "note"],
        "moderators.csv": ["study_id", "year"],
    }
    for name, rows in tables.items():
        with (folder / name).open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=columns[name], lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    for name, header in HEADERS.items():
        (folder / name).write_text(header + "\n", encoding="utf-8")


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_INPUT
    write(HERE, derive(read(source)))
