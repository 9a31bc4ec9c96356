"""Checks across rows and files: references, measure inputs, arithmetic, PRISMA.

Each function takes parsed frames (see :mod:`emmie.ingest.load`) and returns a list
of :class:`~emmie.errors.Problem`; none raises, so every problem is reported at once.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emmie.errors import Problem

# Inputs each measure needs; a tuple of alternatives, each a tuple of columns.
MEASURE_INPUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "OR": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
    "RR": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
    "RD": (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
    "MD": (("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"),),
    "SMD": (("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"),),
    "ROM": (("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"),),
    "COR": (("ri", "ni"),),
    "ZCOR": (("ri", "ni"),),
    "PCOR": (("ti", "ni", "mi"),),
    "GEN": (("estimate", "se"), ("estimate", "ci_lb", "ci_ub"), ("estimate", "pval")),
    "PROP": (("xi", "ni"),),
    "NONE": (("direction",),),
}

CONCEPT_COLUMNS = {
    "context": "context",
    "component": "component",
    "mechanism": "mechanism",
    "enables": "mechanism",
    "outcome": "outcome",
}


def _rows(frame: pd.DataFrame):
    """(file, line, row) per row, the row as a dict of column -> value (made one at a time: ``iterrows``
    builds a Series per row and took most of the time of validating a million effects)."""
    file = frame.attrs.get("file", "?")
    columns = list(frame.columns)
    for line, values in zip(frame.attrs.get("lines", []), frame.itertuples(index=False, name=None), strict=False):
        yield file, line, dict(zip(columns, values, strict=True))


def _rows_where(frame: pd.DataFrame, mask: pd.Series | np.ndarray):
    """:func:`_rows` of the rows where ``mask`` holds (found column-wise; the caller checks each row again)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.all():
        yield from _rows(frame)
        return
    picked = frame[mask]
    picked.attrs = {**frame.attrs, "lines": list(np.asarray(list(frame.attrs.get("lines", [])))[mask])}
    yield from _rows(picked)


def _present(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isnan(value)
    return value not in ("", None)


def check_references(frames: dict[str, pd.DataFrame], config: dict[str, Any]) -> list[Problem]:
    """References between files; none against a file that could not be read (already reported)."""
    problems = []
    if frames["studies"].attrs.get("unreadable"):
        return problems
    studies = set(frames["studies"]["study_id"]) - {""}
    outcomes = {o["id"] for o in config.get("outcomes", [])}
    themes = {t["id"] for t in config.get("implementation_themes", [])}
    kinds = dict(zip(frames["vocabulary"]["concept_id"], frames["vocabulary"]["kind"], strict=True))
    for name in ("effects", "cmo", "implementation", "economics", "moderators", "rob"):
        ids = frames[name]["study_id"]
        for file, line, row in _rows_where(frames[name], (ids != "") & ~ids.isin(studies)):
            sid = row["study_id"]
            if sid and sid not in studies:
                problems.append(Problem(file, line, "study_id", sid, "a study_id listed in studies.csv"))
    for name in ("effects", "economics"):
        said = frames[name]["outcome"]
        for file, line, row in _rows_where(frames[name], (said != "") & ~said.isin(outcomes)):
            if row["outcome"] and row["outcome"] not in outcomes:
                problems.append(
                    Problem(
                        file,
                        line,
                        "outcome",
                        row["outcome"],
                        "an outcome id from review.yaml: " + ", ".join(sorted(outcomes)),
                    )
                )
    for file, line, row in _rows(frames["implementation"]):
        if row["theme"] and row["theme"] not in themes:
            problems.append(
                Problem(
                    file,
                    line,
                    "theme",
                    row["theme"],
                    "a theme id from review.yaml implementation_themes: " + ", ".join(sorted(themes)),
                )
            )
    if frames["vocabulary"].attrs.get("unreadable"):
        return problems
    for file, line, row in _rows(frames["cmo"]):
        for column, kind in CONCEPT_COLUMNS.items():
            value = row[column]
            if not value:
                continue
            if value not in kinds:
                problems.append(Problem(file, line, column, value, "a concept_id listed in vocabulary.csv"))
            elif kinds[value] != kind:
                problems.append(
                    Problem(
                        file,
                        line,
                        column,
                        value,
                        f"a concept of kind '{kind}' (vocabulary.csv has it as '{kinds[value]}')",
                    )
                )
        if not row["context"] and not row["component"] and not row["outcome"] and not row["enables"]:
            problems.append(
                Problem(
                    file,
                    line,
                    "mechanism",
                    row["mechanism"],
                    "a configuration: at least one of context, component, enables or outcome besides the mechanism",
                )
            )
    for i, prop in enumerate(config.get("initial_theory", []) or []):
        for column, kind in CONCEPT_COLUMNS.items():
            value = prop.get(column)
            if value and kinds.get(value) != kind:
                problems.append(
                    Problem(
                        "review.yaml",
                        0,
                        f"initial_theory.{i}.{column}",
                        value,
                        f"a concept_id of kind '{kind}' from vocabulary.csv",
                    )
                )
    return problems


def check_certainty_overrides(config: dict[str, Any]) -> list[Problem]:
    """Every ``certainty_overrides`` key names an outcome of the review."""
    outcomes = [o["id"] for o in config.get("outcomes", [])]
    return [
        Problem("review.yaml", 0, f"certainty_overrides.{key}", key, f"an outcome id ({', '.join(outcomes)})")
        for key in (config.get("certainty_overrides") or {})
        if key not in outcomes
    ]


def check_outcome_models(config: dict[str, Any]) -> list[Problem]:
    """A multilevel model takes the REML or ML estimator only (its variance components are fitted by likelihood)."""
    return [
        Problem("review.yaml", 0, f"outcomes.{i}.method", o["method"], "REML or ML for model: multilevel")
        for i, o in enumerate(config.get("outcomes") or [])
        if isinstance(o, dict) and o.get("model") == "multilevel" and o.get("method", "REML") not in ("REML", "ML")
    ]


# What each dimension's published claim must state (review.yaml published_review.findings[].claim).
CLAIM_KEYS = {
    "effect": ("outcome", "verdict"),
    "mechanisms": ("theory",),
    "moderators": ("theory",),
    "implementation": ("themes",),
    "economics": ("cost_effectiveness",),
}


def check_published_findings(config: dict[str, Any]) -> list[Problem]:
    """The claims of the published findings name this review's outcomes, theory and themes."""
    known = {
        "outcome": ([o["id"] for o in config.get("outcomes", [])], "an outcome id"),
        "theory": ([t["id"] for t in config.get("initial_theory", [])], "an initial_theory id"),
        "themes": ([t["id"] for t in config.get("implementation_themes", [])], "an implementation theme id"),
    }
    problems = []
    seen: set[str] = set()

    def bad(column: str, value: Any, expected: str) -> None:
        problems.append(Problem("review.yaml", 0, column, value, expected))

    for i, finding in enumerate((config.get("published_review") or {}).get("findings") or []):
        where = f"published_review.findings[{i}]"
        dimension, claim = finding["dimension"], finding["claim"]
        if dimension in seen:
            bad(f"{where}.dimension", dimension, "one published finding per dimension")
        seen.add(dimension)
        for key in CLAIM_KEYS[dimension]:
            if key not in claim:
                bad(f"{where}.claim", sorted(claim), f"`{key}` in the claim of the {dimension} finding")
        for key, (ids, what) in known.items():
            refs = claim.get(key, [])
            for ref in [refs] if isinstance(refs, str) else refs:
                if ref not in ids:
                    bad(f"{where}.claim.{key}", ref, f"{what} ({', '.join(ids) or 'none declared'})")
    return problems


def check_snapshots(config: dict[str, Any]) -> list[Problem]:
    """Snapshot ids are unique and their dates are real calendar dates, in order."""
    import datetime

    problems = []
    snapshots = config.get("snapshots") or []
    ids = [s["id"] for s in snapshots]
    for i, snapshot in enumerate(snapshots):
        if ids.count(snapshot["id"]) > 1 and ids.index(snapshot["id"]) != i:
            problems.append(Problem("review.yaml", 0, f"snapshots[{i}].id", snapshot["id"], "a snapshot id used once"))
        try:
            datetime.date.fromisoformat(snapshot["date"])
        except ValueError:
            problems.append(
                Problem("review.yaml", 0, f"snapshots[{i}].date", snapshot["date"], "a real calendar date (YYYY-MM-DD)")
            )
    dates = [s["date"] for s in snapshots]
    if dates != sorted(dates):
        problems.append(Problem("review.yaml", 0, "snapshots", dates, "snapshots in date order, earliest first"))
    return problems


def check_review_urls(config: dict[str, Any]) -> list[Problem]:
    """Every URL in review.yaml that becomes a link is an http(s) URL or a DOI (never javascript: or data:)."""
    from emmie.ingest.cells import parse_url

    problems = []
    url = (config.get("published_review") or {}).get("url")
    if url is not None:
        value, expected = parse_url(str(url))
        if expected:
            problems.append(Problem("review.yaml", 0, "published_review.url", value, expected))
    return problems


def check_economics_base(config: dict[str, Any], folder: Path) -> list[Problem]:
    """The economics base currency and price year are ones data/_reference/deflators.csv can convert to."""
    from emmie.economics.convert import read_deflators
    from emmie.errors import EmmieError

    econ = config.get("economics") or {}
    table = folder.parent / "_reference" / "deflators.csv"
    if not econ or not table.is_file():
        return []
    try:
        deflators = read_deflators(table)
    except EmmieError:
        return []  # a broken reference table is the economics stage's to report
    years = {currency: set(group) for currency, group in deflators.groupby("currency")["year"]}
    problems = []
    currency, year = econ.get("base_currency"), econ.get("base_year")
    if currency is not None and currency not in years:
        problems.append(
            Problem(
                "review.yaml",
                0,
                "economics.base_currency",
                currency,
                "a currency with deflators in data/_reference/deflators.csv (" + ", ".join(sorted(years)) + ")",
            )
        )
    elif currency is not None and year is not None and year not in years[currency]:
        span = f"{min(years[currency])}-{max(years[currency])}"
        problems.append(
            Problem("review.yaml", 0, "economics.base_year", year, f"a year the {currency} deflators cover ({span})")
        )
    return problems


def check_cost_bands(config: dict[str, Any]) -> list[Problem]:
    """Cost bands rise: each limit above the one before, only the last without a limit."""
    bands = config.get("cost_bands") or []
    problems = []
    limits = [b.get("upto") for b in bands]
    for i, upto in enumerate(limits):
        last = i == len(limits) - 1
        if (upto is None) != last:
            expected = (
                "no limit (upto: null) on the last band only" if last else "a limit (upto) on every band but the last"
            )
            problems.append(Problem("review.yaml", 0, f"cost_bands[{i}].upto", upto, expected))
    numeric = [u for u in limits if u is not None]
    if numeric != sorted(set(numeric)):
        problems.append(Problem("review.yaml", 0, "cost_bands", numeric, "limits that rise from band to band"))
    return problems


def _suspect_effects(frame: pd.DataFrame) -> np.ndarray:
    """Rows that may break a rule of :func:`check_effects` (a superset, found column-wise); the rules are then
    checked row by row, with their exact messages, on these rows only."""
    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype=bool)

    def col(name: str) -> pd.Series:
        return frame[name] if name in frame else pd.Series(np.nan, index=frame.index)

    def present(name: str) -> pd.Series:  # as _present: not NaN, and not "" (text columns such as direction)
        values = col(name)
        return values.notna() & (values != "") if values.dtype == object else values.notna()

    measure = frame["measure"].astype(str) if "measure" in frame else pd.Series("", index=frame.index)
    suspect = pd.Series(False, index=frame.index)
    for m, alternatives in MEASURE_INPUTS.items():
        has = pd.Series(False, index=frame.index)
        for alt in alternatives:
            every = pd.Series(True, index=frame.index)
            for c in alt:
                every &= present(c)
            has |= every
        suspect |= (measure == m) & ~has
    for c in ("ai", "bi", "ci", "di", "n1i", "n2i", "ni", "xi", "mi"):
        suspect |= col(c) < 0
    for events, total in (("ai", "n1i"), ("ci", "n2i"), ("xi", "ni")):
        suspect |= col(events) > col(total)
    for a, b, total in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
        both = col(a) + col(b)
        suspect |= (both != col(total)) & both.notna() & present(total)
        suspect |= both == 0
    for c in ("n1i", "n2i", "ni"):
        suspect |= col(c) == 0
    for c in ("sd1i", "sd2i", "se"):
        suspect |= col(c) <= 0
    suspect |= present("ri") & ~((col("ri") > -1) & (col("ri") < 1))
    suspect |= present("pval") & ~((col("pval") > 0) & (col("pval") <= 1))
    lb, ub, est = col("ci_lb"), col("ci_ub"), col("estimate")
    suspect |= lb.notna() != ub.notna()
    suspect |= (lb >= ub) | (est < lb) | (est > ub)
    suspect |= (measure == "PCOR") & (col("ni") - col("mi") - 1 <= 0)
    return suspect.to_numpy()


def check_effects(frame: pd.DataFrame, config: dict[str, Any]) -> list[Problem]:
    problems = []
    invalid = frame.attrs.get("invalid", set())
    for file, line, row in _rows_where(frame, _suspect_effects(frame)):
        measure = row["measure"]
        alternatives = MEASURE_INPUTS.get(measure)
        if alternatives is None or any((line, c) in invalid for alt in alternatives for c in alt):
            continue  # the bad cell is reported already
        if not any(all(_present(row[c]) for c in alt) for alt in alternatives):
            options = " or ".join("+".join(alt) for alt in alternatives)
            missing = [c for c in alternatives[0] if not _present(row[c])]
            problems.append(
                Problem(
                    file, line, missing[0] if missing else "measure", "", f"a value: measure {measure} needs {options}"
                )
            )
        problems += _check_counts(file, line, row)
        problems += _check_ranges(file, line, row)
    return problems


def _check_counts(file: str, line: int, row: dict[str, Any]) -> list[Problem]:
    problems = []
    for column in ("ai", "bi", "ci", "di", "n1i", "n2i", "ni", "xi", "mi"):
        value = row[column]
        if _present(value) and value < 0:
            problems.append(Problem(file, line, column, value, "a count >= 0"))
    for events, total in (("ai", "n1i"), ("ci", "n2i"), ("xi", "ni")):
        if _present(row[events]) and _present(row[total]) and row[events] > row[total]:
            problems.append(
                Problem(
                    file,
                    line,
                    events,
                    row[events],
                    f"at most {total} = {row[total]:g} (events cannot exceed the group size)",
                )
            )
    for a, b, n in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
        if all(_present(row[c]) for c in (a, b, n)) and row[a] + row[b] != row[n]:
            problems.append(Problem(file, line, n, row[n], f"{a} + {b} = {row[a] + row[b]:g}"))
    for a, b, group in (("ai", "bi", "treatment"), ("ci", "di", "control")):
        if _present(row[a]) and _present(row[b]) and row[a] + row[b] == 0:
            problems.append(
                Problem(file, line, b, row[b], f"a {group} group of at least one participant ({a} + {b} is 0)")
            )
    for column in ("n1i", "n2i", "ni"):
        if _present(row[column]) and row[column] == 0:
            problems.append(Problem(file, line, column, row[column], "a sample size > 0"))
    return problems


def _check_ranges(file: str, line: int, row: dict[str, Any]) -> list[Problem]:
    problems = []
    for column in ("sd1i", "sd2i", "se"):
        if _present(row[column]) and row[column] <= 0:
            problems.append(Problem(file, line, column, row[column], "a value > 0"))
    if _present(row["ri"]) and not -1 < row["ri"] < 1:
        problems.append(Problem(file, line, "ri", row["ri"], "a correlation between -1 and 1 (exclusive)"))
    if _present(row["pval"]) and not 0 < row["pval"] <= 1:
        problems.append(Problem(file, line, "pval", row["pval"], "a p-value in (0, 1]"))
    lb, ub, est = row["ci_lb"], row["ci_ub"], row["estimate"]
    if _present(lb) != _present(ub):
        problems.append(
            Problem(file, line, "ci_ub" if _present(lb) else "ci_lb", "", "both confidence limits, or neither")
        )
    elif _present(lb) and _present(ub):
        if lb >= ub:
            problems.append(Problem(file, line, "ci_lb", lb, f"a lower limit below the upper limit {ub:g}"))
        elif _present(est) and not lb <= est <= ub:
            problems.append(
                Problem(file, line, "estimate", est, f"an estimate inside its confidence interval [{lb:g}, {ub:g}]")
            )
    if row["measure"] == "PCOR" and _present(row["mi"]) and _present(row["ni"]) and row["ni"] - row["mi"] - 1 <= 0:
        problems.append(Problem(file, line, "ni", row["ni"], f"a sample size larger than mi + 1 = {row['mi'] + 1:g}"))
    return problems


def check_moderators(frame: pd.DataFrame, config: dict[str, Any], present_file: bool) -> list[Problem]:
    declared = config.get("moderators", []) or []
    problems = []
    if declared and not present_file:
        return [
            Problem(
                "moderators.csv",
                0,
                "-",
                None,
                "a file moderators.csv with the moderators declared in review.yaml: "
                + ", ".join(m["name"] for m in declared),
            )
        ]
    seen: dict[str, int] = {}
    for file, line, row in _rows(frame):
        sid = row["study_id"]
        if sid in seen:
            problems.append(Problem(file, line, "study_id", sid, f"one row per study (already on line {seen[sid]})"))
        seen[sid] = line
        for m in declared:
            levels = m.get("levels")
            value = row.get(m["name"], "")
            if m["type"] == "categorical" and levels and value and value not in levels:
                problems.append(Problem(file, line, m["name"], value, "one of " + ", ".join(levels)))
    return problems


def check_prisma(frame: pd.DataFrame) -> list[Problem]:
    from emmie.prisma import check_arithmetic

    problems = []
    seen: dict[str, int] = {}
    for file, line, row in _rows(frame):
        if row["box"] in seen:
            problems.append(
                Problem(file, line, "box", row["box"], f"each box once (already on line {seen[row['box']]})")
            )
        seen[row["box"]] = line
    if problems or frame.attrs.get("invalid"):
        return problems  # the sums are meaningless until each box has one valid count
    return list(check_arithmetic(frame))


def check_review(config: dict[str, Any], frames: dict[str, pd.DataFrame], folder: Path | None = None) -> list[Problem]:
    problems = check_references(frames, config)
    problems += check_certainty_overrides(config)
    problems += check_outcome_models(config)
    problems += check_published_findings(config)
    problems += check_snapshots(config)
    problems += check_cost_bands(config)
    problems += check_review_urls(config)
    problems += check_economics_base(config, folder) if folder is not None else []
    problems += check_effects(frames["effects"], config)
    problems += check_moderators(frames["moderators"], config, frames["moderators"].attrs.get("present", False))
    problems += check_prisma(frames["prisma"])
    return problems
