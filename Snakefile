# emmie: the EMMIE review pipeline. This file only says what depends on what;
# every rule body is one call into the `emmie` package (src/emmie).
configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/ingest.smk"
include: "rules/effect.smk"
include: "rules/mechanisms.smk"
include: "rules/synthesis.smk"
include: "rules/report.smk"


rule all:
    input:
        all_targets,
    default_target: True
