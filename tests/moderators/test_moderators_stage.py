"""The effect-size Moderators stage on a review built in the test from Landenberger & Lipsey (2005)."""

from __future__ import annotations

import gc
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emmie.effect.stage import run as run_effect
from emmie.ingest.review import Review
from emmie.ingest.schema import TABLES_BY_NAME
from emmie.moderators import moderator_regression, stage, subgroup_analysis

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "moderators" / "landenberger2005_cbt_recidivism.csv"
K = 20  # the first 20 studies keep the test fast


def _table(name: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for c in TABLES_BY_NAME[name].columns:
        if c.name not in frame.columns:
            frame[c.name] = np.nan if c.type in ("int", "float", "year") else ""
    return frame


def cbt_review() -> Review:
    d = pd.read_csv(DATA).iloc[:K]
    ids = [f"s{i + 1}" for i in range(K)]
    effects = [
        {
            "effect_id": f"e{i + 1}",
            "study_id": sid,
            "outcome": "nonrecid",
            "measure": "OR",
            "ai": float(r["n.cbt.non"]),
            "bi": float(r["n.cbt.rec"]),
            "ci": float(r["n.ctrl.non"]),
            "di": float(r["n.ctrl.rec"]),
        }
        for i, (sid, (_, r)) in enumerate(zip(ids, d.iterrows(), strict=True))
    ]
    effects.append(
        {
            "effect_id": "e_single",
            "study_id": "s1",
            "outcome": "employment",
            "measure": "OR",
            "ai": 10.0,
            "bi": 10.0,
            "ci": 8.0,
            "di": 12.0,
        }
    )
    studies = [{"study_id": sid, "design": "rct", "rob_overall": "low", "n": 100.0} for sid in ids]
    age = d["age"].astype(float).to_numpy().copy()
    age[4:] = np.nan  # only 4 studies keep a value: too few for a meta-regression
    moderators = pd.DataFrame(
        {
            "study_id": ids,
            "sessions": d["sessions"].astype(float),
            "setting": d["setting"].astype(str),
            "design": d["design"].astype(str),
            "cogskills": d["cbt.cogskills"].astype(str),
            "victimimpact": d["cbt.victimimpact"].astype(str),
            "age": age,
        }
    )
    config = {
        "id": "cbt",
        "seed": 11,
        "outcomes": [
            {"id": "nonrecid", "label": "Non-recidivism", "desirable": "higher", "measure": "OR"},
            {"id": "employment", "label": "Employment", "desirable": "higher", "measure": "OR"},
        ],
        "moderators": [
            {"name": "sessions", "type": "continuous", "label": "Sessions per week"},
            {"name": "setting", "type": "categorical", "levels": ["prison", "community"]},
            {"name": "design", "type": "categorical"},
            {"name": "cogskills", "type": "categorical", "levels": ["no", "yes"]},
            {"name": "victimimpact", "type": "categorical", "levels": ["no", "yes"]},
            {"name": "age", "type": "continuous"},
            {"name": "intensity", "type": "continuous"},
        ],
    }
    empty = {n: _table(n, []) for n in ("vocabulary", "cmo", "implementation", "economics", "rob", "prisma")}
    return Review(
        path=Path("."),
        config=config,
        studies=_table("studies", studies),
        effects=_table("effects", effects),
        moderators=moderators,
        **empty,
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("mods")
    review = cbt_review()
    run_effect(review, out)
    sizes = pd.read_csv(out / "effect_sizes.csv", keep_default_na=False, na_values=[""])
    mp = pytest.MonkeyPatch()
    mp.setattr(stage, "N_PERM", 200)
    try:
        result = stage.run(review, out, effect_sizes=sizes)
    finally:
        mp.undo()
    return review, sizes, result, out


def test_json_structure_and_explicit_not_possible(outputs):
    _, _, result, out = outputs
    on_disk = json.loads((out / "moderators_effect.json").read_text())
    assert set(on_disk) >= {"analyses", "not_possible"}
    done = {(a["outcome"], a["moderator"]) for a in on_disk["analyses"]}
    assert done == {("nonrecid", m) for m in ("sessions", "setting", "design", "cogskills", "victimimpact")}
    why = {(n["outcome"], n["moderator"]): n["reason"] for n in on_disk["not_possible"]}
    assert "4 studies" in why[("nonrecid", "age")] and ">= 5 studies" in why[("nonrecid", "age")]
    assert "no such column" in why[("nonrecid", "intensity")]
    # the single-result outcome: every moderator is accounted for
    assert all("no meta-analysis" in why[("employment", m["name"])] for m in cbt_review().config["moderators"])
    # every (pooled outcome, moderator) pair is either analysed or explained
    assert len(done) + len(why) == 2 * 7


def test_categorical_analysis_matches_direct_call_and_drops_sparse_levels(outputs):
    _, sizes, result, _ = outputs
    a = {x["moderator"]: x for x in result["analyses"]}
    design = a["design"]
    assert design["levels_dropped"] == {"match": 1} and design["k"] == K - 1
    setting = a["setting"]
    assert setting["levels"] == ["prison", "community"]  # declared order: prison is the reference
    rows = sizes[sizes["poolable"] & (sizes["outcome"] == "nonrecid")].reset_index(drop=True)
    groups = list(cbt_review().moderators["setting"])
    direct = subgroup_analysis(rows["yi"], rows["vi"], groups, test="knha", levels=["prison", "community"])
    assert setting["subgroups"]["test_of_differences"]["qm"] == pytest.approx(direct.qm)
    assert setting["subgroups"]["test_of_differences"]["df"] == 1
    assert [s["k"] for s in setting["subgroups"]["subgroups"]] == [10, 10]
    assert setting["regression"]["permutation"]["n_perm"] == 200
    assert a["victimimpact"]["levels"] == ["no", "yes"]


def test_continuous_analysis_and_bubble_plot(outputs):
    _, sizes, result, out = outputs
    s = next(x for x in result["analyses"] if x["moderator"] == "sessions")
    rows = sizes[sizes["poolable"] & (sizes["outcome"] == "nonrecid")]
    direct = moderator_regression(rows["yi"], rows["vi"], cbt_review().moderators["sessions"], n_perm=0)
    assert s["regression"]["knha"]["coef"] == pytest.approx(list(direct.fit.coef))
    assert s["regression"]["z"]["test"] == "z"
    assert s["figure"] == "bubble_nonrecid_sessions.svg"
    assert "<title>Non-recidivism by Sessions per week (k = 20)</title>" in (out / s["figure"]).read_text()
    assert 0 < s["regression"]["permutation"]["qm_pval"] <= 1


def test_reproducible(outputs, tmp_path):
    review, sizes, result, out = outputs
    mp = pytest.MonkeyPatch()
    mp.setattr(stage, "N_PERM", 200)
    try:
        again = stage.run(review, tmp_path, effect_sizes=sizes)
    finally:
        mp.undo()
    assert (tmp_path / "moderators_effect.json").read_bytes() == (out / "moderators_effect.json").read_bytes()
    assert again["seed"] == 11 and len(again["analyses"]) == len(result["analyses"])


def test_no_moderators_declared(tmp_path):
    review = cbt_review()
    config = {k: v for k, v in review.config.items() if k != "moderators"}
    bare = replace(review, config=config)
    sizes = pd.DataFrame(
        {"effect_id": [], "study_id": [], "outcome": [], "measure": [], "yi": [], "vi": [], "poolable": []}
    )
    result = stage.run(bare, tmp_path, effect_sizes=sizes)
    assert result["analyses"] == [] and result["not_possible"] == []
    assert result["note"] == "no moderators declared in review.yaml"


def test_holm_adjustment_over_the_moderators_of_an_outcome(outputs):
    _, _, result, _ = outputs
    raw = [a["regression"]["permutation"]["qm_pval"] for a in result["analyses"]]
    holm = [a["multiplicity"]["pval_permutation_holm"] for a in result["analyses"]]
    assert all(a["multiplicity"]["n_tests"] == 5 for a in result["analyses"])
    assert all(h >= p for h, p in zip(holm, raw, strict=True))
    i = int(np.argmin(raw))
    assert holm[i] == pytest.approx(min(1.0, 5 * raw[i]))
    assert max(holm) <= 1.0


def _analysis(p_knha, p_perm):
    return {"outcome": "o", "regression": {"knha": {"qm_pval": p_knha}, "permutation": {"qm_pval": p_perm}}}


def test_the_holm_step_freezes_the_heap_and_leaves_the_collector_as_it_found_it():
    """It freezes the heap around statsmodels' gc.collect(); frozen objects would never be collected."""
    frozen_during = []

    def spy(p, method):
        frozen_during.append(gc.get_freeze_count() > 0)
        return real(p, method=method)

    real = stage.multipletests
    analyses = [_analysis(0.01, 0.02), _analysis(0.04, 0.03), _analysis(0.5, float("nan"))]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stage, "multipletests", spy)
        stage._add_multiplicity(analyses)
    assert frozen_during == [True, True]  # statsmodels' gc.collect() scans nothing of ours
    assert gc.get_freeze_count() == 0
    assert [a["multiplicity"]["pval_knha_holm"] for a in analyses] == pytest.approx([0.03, 0.08, 0.5])
    with pytest.raises(TypeError):
        stage._add_multiplicity([{"outcome": "o", "regression": None}])
    assert gc.get_freeze_count() == 0


def test_the_holm_step_leaves_a_heap_frozen_by_someone_else_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        a = _analysis(0.2, 0.3)
        stage._add_multiplicity([a])
        assert gc.get_freeze_count() == frozen
        assert a["multiplicity"]["pval_knha_holm"] == 0.2
    finally:
        gc.unfreeze()
