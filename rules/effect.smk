rule effect:
    input:
        step_files("effect"),
    output:
        directory(f"{RESULTS}/{{review}}/effect"),
    params:
        code=EMMIE_CODE,
        yaml_keys=step_keys("effect"),
    # One core: the exact Bayesian engine runs blocks on threads only for an outcome of 10,000 results or more
    # (emmie.effect.bayes), and with two declared a 2-core machine ran nothing beside this step. For such a review
    # give it more: --set-threads effect=2 (on a cluster, its --cpus-per-task; the engine uses the cores it has).
    threads: 1
    priority: 2  # the longest step of a review, and the rating waits for it: start it first
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    log:
        f"{RESULTS}/logs/{{review}}/effect.log",
    shell:
        f"{EMMIE} stage effect {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} > {{log}} 2>&1"


rule moderators:
    input:
        step_files("moderators"),  # it computes the effect sizes as the Effect stage does: no need to wait for it
    output:
        directory(f"{RESULTS}/{{review}}/moderators"),
    params:
        code=EMMIE_CODE,
        yaml_keys=step_keys("moderators"),
    threads: 1
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    log:
        f"{RESULTS}/logs/{{review}}/moderators.log",
    shell:
        f"{EMMIE} stage moderators {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} > {{log}} 2>&1"
