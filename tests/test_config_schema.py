"""config/config.yaml's schema (rules/schemas/config.schema.yaml, checked with snakemake.utils.validate) and
emmie's own check (emmie.pipeline.check_config, which words the messages) accept and refuse the same configs."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from emmie.pipeline import FOLDERS, check_config

from support import ROOT

SCHEMA = str(ROOT / "rules" / "schemas" / "config.schema.yaml")

CONFIGS = [
    ({"reviews": ["sos"]}, True),
    ({"reviews": ["sos", "cbt-recidivism"], "data_dir": "d", "results_dir": "r", "reports_dir": "p"}, True),
    ({"reviews": "sos"}, False),
    ({"reviews": []}, False),
    ({"reviews": [3]}, False),
    ({"reviews": ["sos", "sos"]}, False),
    ({"reviews": ["logs"]}, False),
    ({"reviews": ["effect"]}, False),
    ({"reviews": ["../x"]}, False),
    ({"reviews": ["é"]}, False),
    ({"reviews": ["sos"], "review": 1}, False),
    ({"reviews": ["sos"], "data_dir": 3}, False),
    ({"reviews": ["sos"], "results_dir": ""}, False),
    ({"reviews": ["sos"], "reports_dir": "  "}, False),
    ({"data_dir": "data"}, False),
]


def schema_accepts(config) -> bool:
    try:
        validate(copy.deepcopy(config), SCHEMA)
    except WorkflowError:
        return False
    return True


@pytest.mark.parametrize(("config", "valid"), CONFIGS)
def test_the_schema_and_emmies_check_agree(config, valid):
    assert (not check_config(config)) is valid
    assert schema_accepts(config) is valid


def test_the_schema_fills_in_the_default_folders():
    config = {"reviews": ["sos"]}
    validate(config, SCHEMA)
    assert config == {"reviews": ["sos"], "data_dir": "data", "results_dir": "results", "reports_dir": "reports"}
    assert config == {"reviews": ["sos"], **FOLDERS}  # emmie's own defaults are the schema's


def test_a_folder_that_is_not_a_name_is_worded():
    assert check_config({"reviews": ["sos"], "results_dir": ""}) == [
        "results_dir: got ''; expected a folder name, e.g. results"
    ]
    assert check_config({"reviews": ["sos"], "data_dir": 3}) == ["data_dir: got '3'; expected a folder name, e.g. data"]


def test_the_bundled_config_is_valid():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    assert not check_config(config) and schema_accepts(config)


def test_config_readme_names_every_key():
    schema = yaml.safe_load((ROOT / "rules" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
    readme = (ROOT / "config" / "README.md").read_text(encoding="utf-8")
    for key in schema["properties"]:
        assert f"`{key}`" in readme
