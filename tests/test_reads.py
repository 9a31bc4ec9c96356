"""What each step reads (emmie.reads): the closure over what decides validity, the review.yaml fingerprint, and
loading only what a step reads, which must fail exactly when a problem is in what the step reads."""

from __future__ import annotations

import pytest

from emmie.errors import DataError
from emmie.ingest import load_review
from emmie.reads import STEPS, TABLES, keys_fingerprint, reads

from support import BAD, TINY, assemble_case


def test_a_step_reads_what_decides_the_validity_of_what_it_reads():
    effect = reads("effect")
    assert effect.tables == ("studies", "effects")  # effects' study_id must be in studies.csv
    assert {"outcomes", "id"} <= set(effect.keys)  # effects' outcome must be an outcome of review.yaml
    mechanisms = reads("mechanisms")
    assert set(mechanisms.tables) == {"studies", "vocabulary", "cmo"}
    economics = reads("economics")
    assert economics.reference and {"economics", "outcomes"} <= set(economics.keys)
    assert "economics" not in effect.tables and "cmo" not in effect.tables
    # the steps not listed read everything
    for step in ("validate", "snapshots", "findings", "report"):
        assert reads(step).everything and reads(step).keys is None and set(reads(step).tables) == set(TABLES)


def test_the_tables_are_the_codebooks():
    from emmie.ingest.schema import TABLES as CODEBOOK  # emmie.reads cannot import it: the Snakefile imports reads

    assert tuple(t.name for t in CODEBOOK) == TABLES


def test_every_partial_step_reads_less_than_everything():
    for step in STEPS:
        assert not reads(step).everything and reads(step).keys is not None


@pytest.mark.parametrize(
    ("before", "after", "keys", "same"),
    [
        ({"id": "a", "title": "x", "outcomes": [1]}, {"id": "a", "title": "y", "outcomes": [1]}, ("outcomes",), True),
        ({"id": "a", "outcomes": [1]}, {"id": "a", "outcomes": [2]}, ("outcomes",), False),
        # a key added anywhere (a typo every step stops on) changes every step's fingerprint
        ({"id": "a", "outcomes": [1]}, {"id": "a", "outcomes": [1], "titel": "x"}, ("outcomes",), False),
        ({"id": "a"}, {"id": "a", "title": "x"}, None, False),
        ({"id": "a"}, None, ("outcomes",), False),
    ],
)
def test_the_yaml_fingerprint_changes_only_with_what_the_step_reads(before, after, keys, same):
    assert (keys_fingerprint(before, keys) == keys_fingerprint(after, keys)) is same


def test_the_fingerprint_of_an_unreadable_file_is_stable():
    assert keys_fingerprint(None, ("outcomes",)) == keys_fingerprint("text", ("outcomes",)) == "unreadable"


#: Bad-input cases (tests/fixtures/bad) and the partial steps each stops: a step stops when a problem is in a
#: table or review.yaml key it reads, or in what decides their validity; the others run on.
STOPS = {
    "negative_count": {"effect", "moderators", "rate"},  # effects.csv (moderators compute the effect sizes too)
    "effect_unknown_outcome": {"effect", "moderators", "rate"},  # effects.csv against review.yaml outcomes
    "cmo_mechanism_only": {"mechanisms", "rate"},  # cmo.csv
    "moderator_not_numeric": {"moderators"},  # moderators.csv
    "prisma_not_adding_up": {"appraisal"},  # prisma.csv
    "econ_year_uncovered": {"economics"},  # review.yaml economics
    "econ_key_typo": {"economics"},  # review.yaml economics
    "certainty_override_unknown_outcome": set(),  # review.yaml certainty_overrides: the findings only
    "duplicate_study_id": set(STEPS),  # studies.csv decides every table's study_id
    "missing_review_yaml": set(STEPS),
}


@pytest.mark.parametrize("case", sorted(STOPS))
def test_a_step_stops_only_on_problems_in_what_it_reads(case, tmp_path):
    folder = assemble_case(BAD / case, tmp_path)
    with pytest.raises(DataError):
        load_review(folder)  # the review as a whole is invalid
    stopped = set()
    for step in STEPS:
        try:
            review = load_review(folder, only=reads(step))
        except DataError:
            stopped.add(step)
            continue
        for table in TABLES:  # what the step does not read is not read
            if table not in reads(step).tables:
                assert getattr(review, table).empty
    assert stopped == STOPS[case]


def test_loading_only_what_a_step_reads_gives_the_same_tables():
    full = load_review(TINY)
    for step in STEPS:
        part = load_review(TINY, only=reads(step))
        assert part.config == full.config
        for table in reads(step).tables:
            assert getattr(part, table).equals(getattr(full, table))
