"""Reviewers' overrides of a certainty rating and of an EMMIE-Q level: both levels, the reviewer and the
justification reach the report, in the summary and in the methods."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from report_helpers import norm, parse, visible

from emmie.findings.stage import run as derive_findings
from emmie.ingest import load_review
from emmie.pipeline import read_summaries
from emmie.rating import stage as rating_stage
from emmie.report.render import render_review


def test_overrides_are_shown_beside_the_proposals(report_project: Path, tmp_path: Path):
    data = tmp_path / "tiny"
    shutil.copytree(report_project / "data" / "tiny", data)
    shutil.copytree(report_project / "data" / "_reference", tmp_path / "_reference")
    config = yaml.safe_load((data / "review.yaml").read_text())
    config["certainty_overrides"] = {
        "tb": {
            "level": "moderate",
            "justification": "Allocation concerns do not apply to the outcome",
            "reviewer": "RevA",
        }
    }
    config["emmie_overrides"] = {
        "economics": {
            "level": 1,
            "justification": "The trials report vaccine unit costs in the text",
            "reviewer": "RevB",
        }
    }
    (data / "review.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    review = load_review(data)
    results = tmp_path / "results"
    shutil.copytree(report_project / "results" / "tiny", results)
    rating_stage.run(review, read_summaries(results), results / "emmie.json")
    doc = derive_findings(review, results, results / "findings.json")
    verdict = next(f for f in doc["findings"] if f["id"] == "effect.verdict.tb")
    cert = verdict["numbers"]["certainty"]
    assert verdict["certainty"] == "moderate" and cert["overridden"] and cert["proposed"] != "moderate"
    render_review(review, results, tmp_path / "out")
    page = parse((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    methods = visible(page.find("section", id="methods"))
    assert (
        f"Certainty for Tuberculosis cases: proposed {cert['proposed']} by the rules, set to moderate by RevA"
        in methods
    )
    assert "EMMIE-Q Economics: proposed 0/4 by the rules, set to 1/4 by RevB" in methods
    assert norm("The trials report vaccine unit costs in the text") in visible(page.find("section", id="summary"))
    assert "Allocation concerns do not apply to the outcome" in visible(page.find("table", class_="verdicts"))
