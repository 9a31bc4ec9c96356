import math

import pandas as pd
import pytest

from emmie.ingest.schema import PRISMA_BOXES
from emmie.prisma import check_arithmetic, counts, flow_boxes, flow_diagram

GOOD = {
    "identified_databases": 100,
    "identified_registers": 5,
    "duplicates_removed": 20,
    "removed_other": 5,
    "records_screened": 80,
    "records_excluded": 60,
    "reports_sought": 20,
    "reports_not_retrieved": 2,
    "reports_assessed": 18,
    "reports_excluded": 14,
    "reports_included": 4,
    "studies_included": 3,
}


def frame(values: dict) -> pd.DataFrame:
    f = pd.DataFrame({"box": list(values), "count": [float(v) for v in values.values()], "detail": ""})
    f.attrs["lines"] = [i + 2 for i in range(len(f))]
    return f


def test_consistent_flow_has_no_problem():
    assert check_arithmetic(frame(GOOD)) == []


@pytest.mark.parametrize(
    ("box", "value", "named"),
    [
        (
            "records_screened",
            81,
            ["records_screened", "identified_databases", "identified_registers", "duplicates_removed", "removed_other"],
        ),
        ("records_excluded", 61, ["reports_sought", "records_screened", "records_excluded"]),
        ("reports_not_retrieved", 3, ["reports_assessed", "reports_sought", "reports_not_retrieved"]),
        ("reports_excluded", 13, ["reports_included", "reports_assessed", "reports_excluded"]),
        ("studies_included", 5, ["studies_included", "reports_included"]),
    ],
)
def test_each_broken_relation_is_reported_with_its_boxes(box, value, named):
    problems = check_arithmetic(frame({**GOOD, box: value}))
    assert len(problems) >= 1
    text = str(problems[0])
    assert problems[0].file == "prisma.csv" and problems[0].column == "count"
    for b in named:
        assert b in text


def test_row_is_the_computed_box_line():
    problems = check_arithmetic(frame({**GOOD, "reports_assessed": 17, "reports_included": 3}))
    # reports_sought - not_retrieved = 18 != 17; 17 - 14 = 3 ok afterwards
    assert [p.row for p in problems] == [list(GOOD).index("reports_assessed") + 2]
    assert "= 18" in problems[0].expected


def test_missing_count_skips_only_its_relations():
    values = {**GOOD, "records_excluded": math.nan, "reports_included": 99}
    problems = check_arithmetic(frame(values))
    assert len(problems) == 1 and "reports_included" in str(problems[0])


def test_absent_optional_boxes_count_zero():
    values = {k: v for k, v in GOOD.items() if k not in ("identified_registers", "removed_other")}
    assert check_arithmetic(frame(values)) == []  # 100 - 20 = 80
    problems = check_arithmetic(frame({**values, "records_screened": 75}))
    assert len(problems) == 2 and "identified_registers" not in str(problems[0]) and "= 80" in str(problems[0])


def test_flow_boxes_show_counts_and_not_reported():
    values = {**GOOD, "reports_not_retrieved": math.nan}
    boxes = {b.key: b.text for b in flow_boxes(frame(values))}
    assert "Databases (n = 100)" in boxes["identified"] and "Registers (n = 5)" in boxes["identified"]
    assert "(n = not reported)" in boxes["reports_not_retrieved"]
    assert "n = 3" in boxes["included"] and "n = 4" in boxes["included"]
    svg = flow_diagram(frame(values))
    assert svg.startswith("<?xml") and "not reported" in svg and "Records screened" in svg
    assert svg == flow_diagram(frame(values))


def test_empty_table_gives_a_diagram_of_not_reported():
    empty = pd.DataFrame({"box": [], "count": [], "detail": []})
    assert all(v is None for v in counts(empty).values()) and len(counts(empty)) == len(PRISMA_BOXES)
    assert check_arithmetic(empty) == []
    assert flow_diagram(empty).count("not reported") >= 8
