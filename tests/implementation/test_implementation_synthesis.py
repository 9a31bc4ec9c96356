import pandas as pd

from emmie.implementation import matrix_data, matrix_plot, synthesise

IMPL = pd.DataFrame(
    {
        "impl_id": ["i1", "i2", "i3", "i4", "i5"],
        "study_id": ["s1", "s1", "s2", "s3", "s2"],
        "type": ["barrier", "enabler", "enabler", "barrier", "barrier"],
        "theme": ["leadership", "leadership", "training", "it", "leadership"],
        "level": ["organisation", "organisation", "practitioner", "system", "team"],
        "excerpt": ["e1", "e2", "e3", "e4", "e5"],
        "source": "src",
        "source_page": "p",
        "verified": "yes",
    }
)
STUDIES = pd.DataFrame(
    {
        "study_id": ["s1", "s2", "s3"],
        "design": ["qualitative", "survey", "case_study"],
        "rigour": ["high", "low", "moderate"],
        "relevance": ["high", "high", "low"],
        "rob_overall": ["not_assessed"] * 3,
    }
)
THEMES = [
    {"id": "leadership", "label": "Leadership"},
    {"id": "training", "label": "Training"},
    {"id": "unused", "label": "Unused"},
]


def test_counts_by_theme_and_level():
    s = synthesise(IMPL, STUDIES, THEMES)
    lead = next(t for t in s.themes if t["theme"] == "leadership")
    assert lead["n_items"] == 3 and lead["studies"] == ["s1", "s2"]
    assert lead["levels"]["organisation"] == {"barrier": 1, "enabler": 1}
    assert [b["impl_id"] for b in lead["barriers"]] == ["i1", "i5"]
    assert lead["barriers"][1]["quality"]["rigour"] == "low"
    assert s.counts["items"] == 5 and s.counts["barriers"] == 3 and s.counts["enablers"] == 2
    assert s.counts["studies_adequate_rigour"] == 2  # s1 high, s3 moderate
    assert s.counts["levels_with_evidence"] == 4
    # an undeclared theme is kept, a declared theme without data has zero items
    assert [t["theme"] for t in s.themes] == ["leadership", "training", "unused", "it"]
    assert next(t for t in s.themes if t["theme"] == "unused")["n_items"] == 0


def test_matrix_data_matches_table_and_plot_shows_counts():
    s = synthesise(IMPL, STUDIES, THEMES)
    m = matrix_data(s)
    assert len(m) == 4 * 4
    assert m[["barrier", "enabler"]].to_numpy().sum() == 5
    row = m.loc[(m.theme == "training") & (m.level == "practitioner")].iloc[0]
    assert (row.barrier, row.enabler, row.label) == (0, 1, "Training")
    svg = matrix_plot(s)
    assert "Leadership" in svg and "Practitioner" in svg and svg == matrix_plot(s)


def test_empty_table():
    s = synthesise(IMPL.iloc[0:0], STUDIES, THEMES)
    assert s.counts["items"] == 0 and all(t["n_items"] == 0 for t in s.themes)
    assert matrix_plot(s).startswith("<?xml")
