"""Fixtures of the mechanisms tests."""

from __future__ import annotations

import pytest

from mechanisms_tables import cmo, studies, vocabulary


@pytest.fixture
def small():
    """Two contexts, one component, three mechanisms (m1 enables m2), two outcomes.

    s1 high/high, s2 moderate/high, s3 low/low, s4 high/moderate.
    """
    voc = vocabulary(
        {
            "c1": "context",
            "c2": "context",
            "c3": "context",
            "k1": "component",
            "m1": "mechanism",
            "m2": "mechanism",
            "m3": "mechanism",
            "m4": "mechanism",
            "o1": "outcome",
            "o2": "outcome",
            "o3": "outcome",
        }
    )
    st = studies({"s1": ("high", "high"), "s2": ("moderate", "high"), "s3": ("low", "low"), "s4": ("high", "moderate")})
    rows = cmo(
        [
            {"study_id": "s1", "context": "c1", "component": "k1", "mechanism": "m1", "outcome": "o1"},
            {"study_id": "s2", "context": "c2", "mechanism": "m1", "outcome": "o1"},
            {"study_id": "s3", "context": "c1", "mechanism": "m1", "enables": "m2", "outcome": "o2"},
            {"study_id": "s4", "context": "c1", "mechanism": "m1", "stance": "contradicts", "evidence": "tested"},
            {"study_id": "s2", "mechanism": "m3", "stance": "refines"},
            {"study_id": "s1", "context": "c2", "mechanism": "m1", "outcome": "o1", "evidence": "tested"},
        ]
    )
    return rows, voc, st
