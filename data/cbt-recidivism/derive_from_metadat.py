"""Derive the coded tables of this folder from Landenberger & Lipsey (2005) as published in metadat.

Input: ``dat.landenberger2005`` (R package metadat 1.2.0), exported as CSV; the repository keeps a copy
at ``tests/fixtures/moderators/landenberger2005_cbt_recidivism.csv`` (checked identical to the R data set
with ``all.equal``). The rules applied here
are the ones stated in ``README.md``; run this file to regenerate
``studies.csv``, ``effects.csv``, ``moderators.csv``, ``vocabulary.csv`` and ``cmo.csv``.

    python data/cbt-recidivism/derive_from_metadat.py [path/to/landenberger2005_cbt_recidivism.csv]
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_INPUT = HERE.parents[1] / "tests" / "fixtures" / "moderators" / "landenberger2005_cbt_recidivism.csv"

REVIEW = "Landenberger, N. A., & Lipsey, M. W. (2005). The positive effects of cognitive-behavioral programs for offenders: A meta-analysis of factors associated with effective treatment. Journal of Experimental Criminology, 1, 451-476"
DOI = "10.1007/s11292-005-3541-7"
SOURCE = f"{REVIEW}. doi:{DOI}; study-level data as distributed in R package metadat 1.2.0, data set dat.landenberger2005 (W. Viechtbauer)"
CAMPBELL = "Lipsey, M. W., Landenberger, N. A., & Wilson, S. J. (2007). Effects of cognitive-behavioral programs for criminal offenders. Campbell Systematic Reviews, 3(1). doi:10.4073/csr.2007.6"

COUNTRY = {"USA": "United States", "CAN": "Canada", "UK": "United Kingdom", "NZ": "New Zealand"}
DESIGN = {"rct": "rct", "match": "quasi_experimental", "nonequiv": "quasi_experimental"}
DESIGN_WORDS = {"rct": "randomized trial", "match": "matched groups", "nonequiv": "nonequivalent groups"}

# Risk-of-bias rule (README): design as coded by L&L, downgraded one step when L&L flag a design problem.
ROB = {
    ("rct", "no"): "low",
    ("rct", "problem"): "moderate",
    ("match", "no"): "moderate",
    ("match", "problem"): "serious",
    ("nonequiv", "no"): "serious",
    ("nonequiv", "problem"): "serious",
}
RIGOUR = {"low": "high", "moderate": "moderate", "serious": "low"}

COMPONENTS = {
    "cbt.cogskills": ("k_cognitive_skills", "Cognitive skills"),
    "cbt.cogrestruct": ("k_cognitive_restructuring", "Cognitive restructuring"),
    "cbt.intpprbsolv": ("k_interpersonal_problem_solving", "Interpersonal problem solving"),
    "cbt.socskills": ("k_social_skills", "Social skills"),
    "cbt.angerctrl": ("k_anger_control", "Anger control"),
    "cbt.victimimpact": ("k_victim_impact", "Victim impact"),
    "cbt.subabuse": ("k_substance_abuse", "Substance abuse"),
    "cbt.behavmod": ("k_behavior_modification", "Behavior modification"),
    "cbt.relapseprev": ("k_relapse_prevention", "Relapse prevention"),
    "cbt.moralrsng": ("k_moral_reasoning", "Moral reasoning"),
    "cbt.roletaking": ("k_role_taking", "Role taking"),
    "cbt.other": ("k_other", "Other CBT component"),
}
MODERATORS = (
    "sessions", "hrs_week", "hrs_total", "length", "interval", "age", "male", "minority",
    "setting", "design", "designprob", "program", "group", "pubtype", *COMPONENTS,
)


def _num(value: str) -> str:
    """Metadat's NA becomes an empty cell; 1.0 is written 1."""
    if value in ("NA", ""):
        return ""
    x = float(value)
    return str(int(x)) if x.is_integer() else repr(x)


def _study_ids(labels: list[str]) -> list[str]:
    """``Guerra (1990)`` -> ``guerra1990``; labels used twice get ``_1``, ``_2`` in data order."""
    base = [re.sub(r"[^a-z0-9]", "", label.lower()) for label in labels]
    counts = {b: base.count(b) for b in base}
    seen: dict[str, int] = {}
    out = []
    for b in base:
        if counts[b] == 1:
            out.append(b)
        else:
            seen[b] = seen.get(b, 0) + 1
            out.append(f"{b}_{seen[b]}")
    return out


def _write(name: str, header: list[str], rows: list[dict[str, str]]) -> None:
    with open(HERE / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main(path: Path) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        data = list(csv.DictReader(fh))
    ids = _study_ids([r["study"] for r in data])
    label_count = {r["study"]: sum(1 for s in data if s["study"] == r["study"]) for r in data}

    studies, effects, moderators, cmo = [], [], [], []
    for k, (sid, r) in enumerate(zip(ids, data, strict=True), start=1):
        n_cbt = int(r["n.cbt.rec"]) + int(r["n.cbt.non"])
        n_ctrl = int(r["n.ctrl.rec"]) + int(r["n.ctrl.non"])
        year = re.search(r"\((\d{4})[a-z]?\)", r["study"]).group(1)
        problem = "no" if r["designprob"] == "no" else "problem"
        rob = ROB[(r["design"], problem)]
        twin = f" (one of {label_count[r['study']]} rows with this label in the data set; row {k})" if label_count[r["study"]] > 1 else ""
        people = [r["group"]]
        for col, word in (("age", "mean age"), ("male", "% male"), ("minority", "% minority")):
            if r[col] != "NA":
                people.append(f"{word} {_num(r[col])}" if col == "age" else f"{_num(r[col])}{word}")
        studies.append({
            "study_id": sid,
            "citation": f"{r['study']}{twin}, as coded in Landenberger & Lipsey (2005); the full primary reference is not part of the published data set",
            "year": year,
            "country": COUNTRY[r["country"]],
            "design": DESIGN[r["design"]],
            "comparison": f"control group ({DESIGN_WORDS[r['design']]} design as coded by L&L; the control condition is not described in the data set)",
            "n": str(n_cbt + n_ctrl),
            "sample": f"offenders ({', '.join(people)}); CBT n={n_cbt}, control n={n_ctrl}",
            "setting": r["setting"],
            "rob_tool": "generic",
            "rob_overall": rob,
            "relevance": "high",
            "rigour": RIGOUR[rob],
            "url": DOI,
            "in_original_review": "yes",
            "source": SOURCE,
            "source_page": f"dat.landenberger2005 row {k}",
            "verified": "yes",
            "note": (
                f"Copied from the published data set (checked identical to metadat 1.2.0). n = sum of the four counts. "
                f"rob_overall by the stated rule from design={r['design']} and designprob={r['designprob']}; "
                "url is the review's DOI because the primary study's own reference is not in the data set."
            ),
        })
        effects.append({
            "effect_id": f"{sid}_nonrec",
            "study_id": sid,
            "outcome": "non_recidivism",
            "timepoint": f"{_num(r['interval'])} months",
            "measure": "OR",
            "ai": r["n.cbt.non"],
            "bi": r["n.cbt.rec"],
            "ci": r["n.ctrl.non"],
            "di": r["n.ctrl.rec"],
            "source": SOURCE,
            "source_page": f"dat.landenberger2005 row {k} (n.cbt.non, n.cbt.rec, n.ctrl.non, n.ctrl.rec, interval)",
            "verified": "yes",
            "note": "Counts copied from the published data set; ai/bi/ci/di follow metafor's example (non-recidivism, CBT vs control).",
        })
        moderators.append({"study_id": sid, **{m: (_num(r[m]) if m in ("sessions", "hrs_week", "hrs_total", "length", "interval", "age", "male", "minority") else r[m]) for m in MODERATORS}})
        context = f"c_{r['setting']}"
        for col, (concept, label) in COMPONENTS.items():
            if r[col] != "yes":
                continue
            cmo.append({
                "cmo_id": f"{sid}_{concept[2:]}",
                "study_id": sid,
                "context": context,
                "component": concept,
                "mechanism": "m_criminal_thinking",
                "enables": "",
                "outcome": "o_reduced_recidivism",
                "stance": "supports",
                "evidence": "asserted",
                "excerpt": (
                    f"Programme delivered the component '{label}' ({col} = yes in L&L's coding; setting = {r['setting']}). "
                    "CBT 'explicitly targets criminal thinking as a contributing factor to deviant behavior' (Lipsey, Landenberger & Wilson 2007)."
                ),
                "source": f"Component and setting: {SOURCE}. Mechanism: {CAMPBELL}",
                "source_page": f"dat.landenberger2005 row {k}; Campbell review abstract (Background)",
                "verified": "yes",
                "note": (
                    "The component and setting are copied from the data set; the mechanism is the programme theory L&L and colleagues name for CBT "
                    "as a whole (not measured in the primary study), hence evidence = asserted. The mechanism sentence was read in the Campbell "
                    "review's abstract (publikationen.uni-tuebingen.de/xmlui/handle/10900/64639) and the Lipsey & Landenberger (2006) chapter preview."
                ),
            })

    _write("studies", list(studies[0]), studies)
    _write("effects", list(effects[0]), effects)
    _write("moderators", list(moderators[0]), moderators)
    _write("cmo", list(cmo[0]), cmo)
    vocab = [
        {"concept_id": "c_prison", "kind": "context", "label": "Prison setting", "description": "Treatment delivered in prison (L&L's `setting` = prison)."},
        {"concept_id": "c_community", "kind": "context", "label": "Community setting", "description": "Treatment delivered in the community (L&L's `setting` = community)."},
        {"concept_id": "m_criminal_thinking", "kind": "mechanism", "label": "Change in criminal thinking", "description": "CBT targets 'criminal thinking' (cognitive deficits and distortions) as a contributing factor to offending (Lipsey, Landenberger & Wilson 2007)."},
        {"concept_id": "o_reduced_recidivism", "kind": "outcome", "label": "Reduced recidivism", "description": "Lower recidivism of treated offenders (the review's outcome; non-recidivism in effects.csv)."},
    ]
    vocab += [
        {"concept_id": concept, "kind": "component", "label": label, "description": f"CBT component coded by L&L as `{col}` (yes/no)."}
        for col, (concept, label) in COMPONENTS.items()
    ]
    _write("vocabulary", list(vocab[0]), vocab)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_INPUT)
