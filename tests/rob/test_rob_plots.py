import pandas as pd
import pytest

from emmie.errors import EmmieError
from emmie.rob import rob_table, summary_data, summary_plot, traffic_light_data, traffic_light_plot

ROB = pd.DataFrame(
    {
        "study_id": ["a", "a", "b", "b", "c", "c"],
        "tool": ["rob2"] * 6,
        "domain": ["D1 Randomisation", "D2 Deviations"] * 3,
        "judgement": ["low", "some_concerns", "high", "low", "low", "no_information"],
        "support": "",
    }
)
STUDIES = pd.DataFrame(
    {
        "study_id": ["a", "b", "c", "d"],
        "rob_tool": ["rob2", "rob2", "rob2", "robins_i"],
        "rob_overall": ["some_concerns", "high", "low", "serious"],
    }
)


def test_table_adds_overall_from_studies():
    t = rob_table(ROB, STUDIES)
    grid = traffic_light_data(t)
    assert list(grid.columns) == ["D1 Randomisation", "D2 Deviations", "Overall"]
    assert grid.loc["d", "Overall"] == "serious" and grid.loc["d", "D1 Randomisation"] == ""
    assert grid.loc["b", "D1 Randomisation"] == "high"


def test_fallback_to_overall_when_rob_empty():
    t = rob_table(ROB.iloc[0:0], STUDIES)
    assert set(t["domain"]) == {"Overall"} and len(t) == 4
    assert set(t.loc[t.study_id == "d", "tool"]) == {"robins_i"}


def test_summary_percentages():
    data = summary_data(rob_table(ROB, None))
    d1 = data.loc[data.domain == "D1 Randomisation"].set_index("judgement")
    assert d1.loc["low", "n"] == 2 and d1.loc["low", "percent"] == pytest.approx(200 / 3)
    assert d1.loc["high", "percent"] == pytest.approx(100 / 3)
    assert data.groupby("domain")["percent"].sum().tolist() == pytest.approx([100.0, 100.0])


def test_weighted_summary():
    data = summary_data(rob_table(ROB, None), weights={"a": 1.0, "b": 3.0, "c": 0.0})
    d1 = data.loc[data.domain == "D1 Randomisation"].set_index("judgement")
    assert d1.loc["high", "percent"] == pytest.approx(75.0)
    assert d1.loc["low", "percent"] == pytest.approx(25.0)
    with pytest.raises(EmmieError):
        summary_data(rob_table(ROB, None), weights={"a": -1.0})


def test_plots_carry_symbols_and_are_reproducible():
    t = rob_table(ROB, STUDIES)
    svg = traffic_light_plot(t)
    assert svg == traffic_light_plot(t)
    for text in ("Some concerns", "No information", "Serious", "D2 Deviations"):
        assert text in svg
    s = summary_plot(t)
    assert "Overall" in s and "25%" in s and s == summary_plot(t)


def test_empty_plot_raises_clear_error():
    with pytest.raises(EmmieError, match="no risk-of-bias"):
        traffic_light_plot(rob_table(ROB.iloc[0:0], None))


@pytest.mark.parametrize("over", [False, True])
def test_traffic_light_plot_is_drawn_up_to_its_size_limit_and_says_why_not_beyond(tmp_path, monkeypatch, over):
    """One row per study: past TRAFFIC_LIGHT_MAX_STUDIES the plot is not drawn, the stage says why, the summary plot
    is still drawn, and the report page says it."""
    from emmie.ingest import load_review
    from emmie.rob import stage

    from support import ROOT

    review = load_review(ROOT / "data" / "sos")
    n = len(traffic_light_data(rob_table(review.rob, review.studies)))
    monkeypatch.setattr(stage, "TRAFFIC_LIGHT_MAX_STUDIES", n - 1 if over else n)
    out = stage.run(review, tmp_path)
    assert (tmp_path / "rob_summary.svg").is_file() and out["figures"]["summary"] == "rob_summary.svg"
    assert (tmp_path / "rob_traffic.svg").is_file() is (not over)
    if not over:
        assert out["traffic_light_skipped"] is None and out["figures"]["traffic_light"] == "rob_traffic.svg"
        return
    why = f"not drawn: {n:,} studies, more than {n - 1:,} (one row per study); the summary plot shows the share of studies at each judgement"
    assert out["traffic_light_skipped"] == why and "traffic_light" not in out["figures"]
    from emmie.report.context import appraisal_section
    from emmie.report.render import environment

    ctx = appraisal_section(tmp_path, {})
    assert ctx["rob_traffic"] is None and ctx["rob_traffic_skipped"] == why
    template = environment().from_string(
        "{% if appraisal.rob_traffic_skipped %}<p>The traffic-light plot by study was {{ appraisal.rob_traffic_skipped }}.</p>{% endif %}"
    )
    assert f"The traffic-light plot by study was {why}." in template.render(appraisal=ctx)
