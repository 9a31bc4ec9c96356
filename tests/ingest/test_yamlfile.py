"""read_yaml_quick (planning's reader of review.yaml) returns what read_yaml returns, or None where read_yaml
refuses the file: it only decides what a change reruns, and the validate step says what is wrong."""

from pathlib import Path

import pytest
import yaml

from emmie.ingest.yamlfile import read_yaml, read_yaml_quick

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("data/*/review.yaml"), *ROOT.glob("tests/fixtures/**/review.yaml")])


def test_there_are_files_to_compare():
    assert len(FILES) > 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_same_mapping_as_read_yaml_or_none_where_it_refuses(path):
    text = path.read_text(encoding="utf-8")
    try:
        expected = read_yaml(text)
    except yaml.YAMLError:
        expected = None
    assert read_yaml_quick(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # a duplicate key
        "outcomes:\n  - {id: x, id: y}\n",  # a duplicate key further in
        "x: &a [1, 2]\ny: *a\n",  # an alias
        "a: [1\n",  # not YAML
    ],
)
def test_refused(text):
    with pytest.raises(yaml.YAMLError):
        read_yaml(text)
    assert read_yaml_quick(text) is None


@pytest.mark.parametrize("text", ["a: 1\nb: 2\n", "x: &a [1, 2]\n", "d: 2020-01-31\nf: 1.5e-3\nn: ~\nt: yes\n"])
def test_accepted_alike(text):  # an anchor without an alias is harmless; dates, floats, null and booleans alike
    assert read_yaml_quick(text) == read_yaml(text) is not None
