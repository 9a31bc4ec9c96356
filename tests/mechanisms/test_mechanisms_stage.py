import json
from pathlib import Path

import pandas as pd

from emmie.ingest.review import Review
from emmie.mechanisms import read_graphml
from emmie.mechanisms.stage import run

KEYS = {
    "review",
    "n_codings",
    "n_studies",
    "nodes",
    "configurations",
    "demi_regularities",
    "contested",
    "single_study",
    "gaps",
    "moderating_contexts",
    "theory",
    "beyond_theory",
    "evidence",
}
FILES = ("cmo.graphml", "cmo.json", "cmo_edges.csv", "cmo.svg", "cmo_view.json", "mechanisms.json")


def _review(small, **config) -> Review:
    rows, voc, st = small
    empty = pd.DataFrame()
    cfg = {
        "id": "toy",
        "initial_theory": [{"id": "P1", "statement": "s", "context": "c2", "mechanism": "m1", "outcome": "o1"}],
    }
    cfg.update(config)
    return Review(Path("data/toy"), cfg, st, empty, voc, rows, empty, empty, empty, empty, empty)


def test_stage_writes_everything_reproducibly(small, tmp_path):
    review = _review(small)
    summary = run(review, tmp_path / "a")
    run(review, tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert set(summary) == KEYS
    on_disk = json.loads((tmp_path / "a" / "mechanisms.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    assert summary["review"] == "toy"
    assert summary["n_codings"] == 6 and summary["n_studies"] == 4
    assert summary["nodes"] == {"context": 3, "mechanism": 4, "outcome": 3, "component": 1}
    assert summary["evidence"] == {"asserted": 0, "described": 0, "observed": 4, "tested": 2}
    assert summary["configurations"][0]["path"] == ["c2", "m1", "o1"]
    assert [t["status"] for t in summary["theory"]] == ["confirmed"]
    assert ["c2", "m1"] not in [[b["source"], b["target"]] for b in summary["beyond_theory"]]
    assert summary["gaps"]["outcomes_without_mechanism"][0]["id"] == "o3"
    assert read_graphml(tmp_path / "a" / "cmo.graphml").number_of_edges() == 6


def test_stage_uses_cmo_weights(small, tmp_path):
    summary = run(_review(small, cmo_weights={"contradicts": 0}), tmp_path)
    (contested,) = summary["contested"]
    assert contested["strength"] == 1.09
