# emmie: the EMMIE review pipeline. This file only says what depends on what;
# every rule body is one call into the `emmie` package (src/emmie).
from snakemake.utils import min_version

min_version("9.27")  # the lowest version the tests have run with (pyproject.toml)


configfile: "config/config.yaml"


report: "rules/captions/workflow.rst"


include: "rules/common.smk"
include: "rules/ingest.smk"
include: "rules/effect.smk"
include: "rules/mechanisms.smk"
include: "rules/synthesis.smk"
include: "rules/report.smk"


# Too small to be cluster jobs: they run where Snakemake runs (the login node on a cluster).
localrules:
    all,
    toolkit,


rule all:
    input:
        all_targets,
    default_target: True


# Snakemake's scheduler re-checks the queue by a one-second threading.Timer (its --max-jobs-per-timespan
# limit), and Python does not exit until the last of them has fired: every run that ran a job ended about a
# second after its work was done. The work is done when these hooks run, so stop the timers.
onsuccess:
    cancel_scheduler_timers()


# After a failed run (one review's step failed; --keep-going ran the rest) the toolkit rule did not run,
# and the page would still show what it showed before. Remake it from what is there now: a review whose
# step failed gets a card saying so, not its earlier results.
onerror:
    cancel_scheduler_timers()
    shell(
        f"{EMMIE} toolkit {REPORTS}/index.html --results {RESULTS} --data {DATA} "
        + " ".join(f"{RESULTS}/{r}/validation.json" for r in REVIEWS)  # a missing one: a "not checked" card
        + f" > {RESULTS}/logs/toolkit.log 2>&1 || true"
    )
