"""The corrections to the Signs of Safety data found when its rows were checked against their sources (issue 13).

Each test pins one correction, so a later edit that reintroduces the error fails here.
"""

from __future__ import annotations

import pytest

from emmie.ingest import load_review
from emmie.ingest.documents import for_effect, other_documents, study_ids

from support import ROOT


@pytest.fixture(scope="module")
def sos():
    return load_review(ROOT / "data" / "sos")


def row(frame, key, value):
    hit = frame[frame[key] == value]
    assert len(hit) == 1, f"{value}: {len(hit)} rows"
    return hit.iloc[0]


def test_goldfields_answer_is_not_an_effect_of_sos(sos):
    study = row(sos.studies, "study_id", "goldfields2016")
    assert study["document_type"] == "parliamentary_answer"
    effect = row(sos.effects, "effect_id", "goldfields2016_care")
    assert effect["direction"] == "unclear"
    assert "permanency planning" in effect["result_text"] and "never mentions Signs of Safety" in effect["note"]
    studies_only, dropped = for_effect(sos)
    assert "goldfields2016_care" not in set(studies_only.effects["effect_id"])
    assert {
        "effect_id": "goldfields2016_care",
        "study_id": "goldfields2016",
        "reason": "reported in a parliamentary answer, not a study",
    } in dropped


def test_documents_that_are_not_studies_are_kept_but_not_counted(sos):
    others = {d["study_id"]: d["type"] for d in other_documents(sos)}
    assert others == {
        "goldfields2016": "parliamentary answer",
        "cardiff2019": "council or committee minutes",
        "spring2017": "funding list",
        "slough2017": "news item",
    }
    assert len(study_ids(sos)) == len(sos.studies) - 4
    # kept for implementation and economics
    assert "cardiff2019" in set(sos.implementation["study_id"]) and "spring2017" in set(sos.economics["study_id"])


def test_reekers_comparison_is_coded_as_the_link_it_tests(sos):
    test = row(sos.cmo, "cmo_id", "reekers2018_test")
    assert (test["component"], test["mechanism"], test["outcome"]) == ("k_sos_practice", "m_empowerment", "")
    assert (test["stance"], test["evidence"]) == ("contradicts", "tested")
    # the workers' view and the trend-level association are two findings, coded apart
    partnership = row(sos.cmo, "cmo_id", "reekers2018_partnership")
    assert (partnership["context"], partnership["mechanism"], partnership["outcome"]) == (
        "c_trust",
        "m_empowerment",
        "",
    )
    assert "Workers' views" in partnership["note"]
    trend = row(sos.cmo, "cmo_id", "reekers2018_trend")
    assert (trend["mechanism"], trend["outcome"], trend["stance"]) == (
        "m_empowerment",
        "o_maltreatment_risk",
        "supports",
    )
    assert "trend level" in trend["excerpt"]


def test_nelson_dusek_plans_are_described_with_the_goal_wording_in_full(sos):
    plan = row(sos.cmo, "cmo_id", "nelsondusek2017_plan")
    assert plan["evidence"] == "described"
    assert row(sos.cmo, "cmo_id", "nelsondusek2017_network")["evidence"] == "described"  # same abstract, same reading
    assert "with the goal of providing supports that increase the likelihood of continued safety" in plan["excerpt"]
    readme = (ROOT / "data" / "sos" / "README.md").read_text(encoding="utf-8")
    assert "Nelson-Dusek et al. (plans, networks -> shared\n  responsibility -> safety; observed)" not in readme
    assert "described, not observed" in readme


def test_baginsky_2017_findings_are_not_joined_into_one_link(sos):
    assert "baginsky2017_engagement" not in set(sos.cmo["cmo_id"])
    assert row(sos.effects, "effect_id", "baginsky2017_engagement")["direction"] == "mixed"
    assert "embedding" in row(sos.effects, "effect_id", "baginsky2017_goals")["note"]


def test_de_wolff_initials_and_place_are_flagged_partial(sos):
    study = row(sos.studies, "study_id", "dewolff2012")
    assert study["verified"] == "partial" and "initials" in study["note"]


def test_kinship_harm_rests_on_the_report_s_own_words(sos):
    kinship = row(sos.effects, "effect_id", "baginsky2020_kinship")
    assert kinship["direction"] == "harm"
    assert "contrary to the aims of the programme" in kinship["result_text"]
    assert "netcare-ni.com" in kinship["source"]


def test_programme_level_null_is_not_coded_against_a_mechanism_link(sos):
    # Baginsky et al. (2020) found no change in care numbers at programme level: an Effect result, not a test of
    # shared responsibility -> fewer children in care.
    assert "baginsky2020_care" not in set(sos.cmo["cmo_id"])
    assert not ((sos.cmo["study_id"] == "baginsky2020") & (sos.cmo["stance"] == "contradicts")).any()
    assert row(sos.effects, "effect_id", "baginsky2020_care")["direction"] == "no_change"


def test_every_source_records_how_inclusion_in_the_published_review_was_settled(sos):
    assert (sos.studies["inclusion_basis"] != "").all()
    later = sos.studies[sos.studies["in_original_review"] == "no"]
    assert later["inclusion_basis"].str.contains("after the review's last search").all()


def test_added_source_carries_its_provenance(sos):
    study = row(sos.studies, "study_id", "baginsky2020parents")
    assert study["url"] == "10.1111/cfs.12673" and study["verified"] == "yes" and study["in_original_review"] == "no"
    cmo = row(sos.cmo, "cmo_id", "baginsky2020parents_confidence")
    assert cmo["verified"] == "yes" and "more families reported improvements" in cmo["excerpt"]
