"""The findings of issue 17 (item 4): the certainty rule for estimates adjusted for small-study effects, and the
words of the Bayes factor, each on both sides of its thresholds."""

from __future__ import annotations

import math

import pytest

from emmie.findings import certainty as gr
from emmie.findings.effect import BF_WORDS, _bma_finding, adjusted_benefits, bf_text


@pytest.mark.parametrize(
    ("pooled", "adjusted", "shifted"),
    [(0.4, 0.21, False), (0.4, 0.19, True), (0.4, -0.1, True), (0.4, None, False), (-0.2, -0.5, False)],
)
def test_material_shift_both_sides_of_half(pooled, adjusted, shifted):
    assert gr.material_shift(pooled, adjusted) is shifted


@pytest.mark.parametrize(
    ("adjusted", "down"),
    [
        ([("selection model (3PSM)", 0.1, 0.09)], 1),  # less than half, and selection signalled (p < 0.10)
        ([("selection model (3PSM)", 0.1, 0.11)], 0),  # less than half, but no signal
        ([("selection model (3PSM)", 0.3, 0.01)], 0),  # signal, but most of the benefit kept
        ([("PET-PEESE (PET)", -0.05, 0.02)], 1),
        ([], 0),
    ],
)
def test_publication_bias_from_adjusted_estimates(adjusted, down):
    j = gr.publication_bias(20, 0.5, 0.5, adjusted, pooled_benefit=0.4)
    assert j.down == down
    if down:
        assert "keeps less than half of the pooled benefit" in j.reason
    # funnel-plot asymmetry rates down whatever the adjusted estimates say
    assert gr.publication_bias(20, 0.05, 0.5, adjusted, pooled_benefit=0.4).down == 1


def test_adjusted_benefits_follow_the_desirable_direction():
    ss = {"selection": {"estimate": -0.3, "lrt_pval": 0.2}, "pet_peese": {"chosen": "PET", "estimate": -0.1,
                                                                          "pet_slope_pval": 0.04}}  # fmt: skip
    lower = adjusted_benefits(ss, "lower")
    assert [round(b, 10) for _, b, _ in lower] == [0.3, 0.1]
    assert [b for _, b, _ in adjusted_benefits(ss, "higher")] == [-0.3, -0.1]


@pytest.mark.parametrize(
    ("bf10", "evidence"),
    [(3.0, "effect"), (2.99, "uninformative"), (1 / 2.99, "uninformative"), (1 / 3.0, "no effect")],
)
def test_bayes_factor_words_both_sides(bf10, evidence):
    from emmie.effect.bma import BMAResult, EffectPrior, HeterogeneityPrior

    r = BMAResult({}, {}, {}, bf10, 1.0, 0, 0, 0, 0, 0, 0, 0.95, 3, EffectPrior(), HeterogeneityPrior())
    assert r.evidence() == evidence
    bma = {"bf10": bf10, "bf01": 1 / bf10, "bf_heterogeneity": 2.0, "evidence": evidence, "effect_prior": "N(0, 0.3²)",
           "tau_prior": "inverse-gamma(1, 0.15)", "sensitivity": []}  # fmt: skip
    f = _bma_finding("o", bma, ["s1"])
    assert BF_WORDS[evidence] in f.statement


def test_bf_text():
    assert (bf_text(2.256), bf_text(23.4), bf_text(2e7), bf_text(1e-4), bf_text(math.nan)) == (
        "2.3", "23", "more than 1,000", "less than 1/1,000", "not defined",
    )  # fmt: skip
