rule implementation:
    input:
        step_files("implementation"),
    output:
        directory(f"{RESULTS}/{{review}}/implementation"),
    params:
        code=EMMIE_CODE,
        yaml_keys=step_keys("implementation"),
    threads: 1
    priority: 1  # short, and the rating waits for it: before the long moderator and CMO analyses
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(10),
    log:
        f"{RESULTS}/logs/{{review}}/implementation.log",
    shell:
        f"{EMMIE} stage implementation {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} > {{log}} 2>&1"


rule economics:
    input:
        step_files("economics"),
        effect=f"{RESULTS}/{{review}}/effect",
    output:
        directory(f"{RESULTS}/{{review}}/economics"),
    params:
        code=EMMIE_CODE,
        yaml_keys=step_keys("economics"),
    threads: 1
    priority: 2  # it waits for Effect, and the rating for it: run it as soon as Effect is done
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(10),
    log:
        f"{RESULTS}/logs/{{review}}/economics.log",
    shell:
        f"{EMMIE} stage economics {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} --results {RESULTS}/{{wildcards.review}} > {{log}} 2>&1"


rule appraisal:
    input:
        step_files("appraisal"),
    output:
        directory(f"{RESULTS}/{{review}}/appraisal"),
    params:
        code=EMMIE_CODE,
        yaml_keys=step_keys("appraisal"),
    threads: 1
    priority: 1  # short, and the rating waits for it: before the long moderator and CMO analyses
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(10),
    log:
        f"{RESULTS}/logs/{{review}}/appraisal.log",
    shell:
        f"{EMMIE} stage appraisal {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} > {{log}} 2>&1"


rule rate:
    input:
        step_files("rate"),
        effect=f"{RESULTS}/{{review}}/effect",
        mechanisms=f"{RESULTS}/{{review}}/mechanisms",
        moderators=f"{RESULTS}/{{review}}/moderators",
        implementation=f"{RESULTS}/{{review}}/implementation",
        economics=f"{RESULTS}/{{review}}/economics",
        appraisal=f"{RESULTS}/{{review}}/appraisal",
    output:
        report(f"{RESULTS}/{{review}}/emmie.json", caption="captions/emmie.rst", category="EMMIE-Q", labels={"review": "{review}", "file": "emmie.json"}),
    params:
        code=EMMIE_CODE,
        yaml_keys=step_keys("rate"),
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(10),
    log:
        f"{RESULTS}/logs/{{review}}/rate.log",
    shell:
        f"{EMMIE} rate {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {RESULTS}/{{wildcards.review}} {{output}} > {{log}} 2>&1"
