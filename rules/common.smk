import sys
from pathlib import Path

from snakemake.utils import validate

from emmie.pipeline import cancel_scheduler_timers, check_config, check_outputs

_problems = check_config(config)
if _problems:  # one message per problem, in the user's words, before any planning: never a traceback
    sys.exit("config/config.yaml: " + "\nconfig/config.yaml: ".join(_problems))
# The config's contract, as Snakemake workflows state it (and it fills in the default folders); emmie's own
# check above has already worded anything this would refuse (tests/test_config_schema.py).
validate(config, "schemas/config.schema.yaml")
DATA = config["data_dir"]
RESULTS = config["results_dir"]
REPORTS = config["reports_dir"]
_problems = check_outputs(config)
if _problems:  # Snakemake stops with a traceback on an output folder it cannot write
    sys.exit("emmie cannot write its outputs:\n" + "\n".join(_problems))
REVIEWS = list(config["reviews"])
# The Python that runs Snakemake has emmie installed (make sets up .venv).
EMMIE = f'"{sys.executable}" -m emmie'

def _code_digest():
    """A fingerprint of the emmie package: a rule reruns when the code that makes its output changes."""
    import hashlib

    import emmie

    root = Path(emmie.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".j2", ".css", ".js") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


EMMIE_CODE = _code_digest()

def per_attempt(amount):
    """A resource that grows with the attempt: a job killed for memory or time is retried with more."""
    return lambda wildcards, attempt: amount * attempt


wildcard_constraints:
    review="[A-Za-z0-9][A-Za-z0-9_-]*",


from functools import lru_cache

from emmie.reads import keys_fingerprint, reads


@lru_cache(maxsize=None)
def _review_yaml(review):
    """review.yaml as a mapping, or None when it cannot be read (the validate step says why)."""
    from emmie.ingest.yamlfile import read_yaml_quick

    try:
        return read_yaml_quick(Path(DATA, review, "review.yaml").read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - any unreadable file: validate reports it, planning goes on
        return None


def step_files(step):
    """The input function of a step that reads part of a review (emmie.reads): the tables it reads, and
    data/_reference when it reads those. Its review.yaml keys are a param (step_keys)."""
    wanted = reads(step)

    def files(wildcards):
        folder = Path(DATA) / wildcards.review
        out = [str(folder / f"{t}.csv") for t in wanted.tables if (folder / f"{t}.csv").is_file()]
        if wanted.reference:
            out += sorted(str(p) for p in Path(DATA, "_reference").glob("*.csv"))
        return out

    return files


def step_keys(step):
    """A param: the fingerprint of the review.yaml keys ``step`` reads, so it reruns when they change."""
    keys = reads(step).keys
    return lambda wildcards: keys_fingerprint(_review_yaml(wildcards.review), keys)


def review_files(wildcards):
    """Every file of the review folder, plus the shared reference tables."""
    folder = Path(DATA) / wildcards.review
    files = sorted(str(p) for p in folder.glob("*.csv"))
    files += [str(folder / "review.yaml")] if (folder / "review.yaml").is_file() else []
    files += sorted(str(p) for p in Path(DATA, "_reference").glob("*.csv"))
    # A missing folder or review.yaml is the validator's to report (that review fails, the others go on),
    # not a missing input that stops Snakemake from planning any review.
    return files


def review_reports(review):
    return [f"{REPORTS}/{review}/{name}.html" for name in ("index", "practice-guide", "implementation-summary", "information-sheet")]


def all_targets(wildcards):
    targets = [f"{REPORTS}/index.html"]
    for review in REVIEWS:
        targets += review_reports(review)
    return targets
