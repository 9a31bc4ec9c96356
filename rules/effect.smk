rule effect:
    input:
        review_files,
        validation=f"{RESULTS}/{{review}}/validation.json",
    output:
        directory(f"{RESULTS}/{{review}}/effect"),
    params:
        code=EMMIE_CODE,
    log:
        f"{RESULTS}/logs/{{review}}/effect.log",
    shell:
        f"{EMMIE} stage effect {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} > {{log}} 2>&1"


rule moderators:
    input:
        review_files,
        effect=f"{RESULTS}/{{review}}/effect",
    output:
        directory(f"{RESULTS}/{{review}}/moderators"),
    params:
        code=EMMIE_CODE,
    log:
        f"{RESULTS}/logs/{{review}}/moderators.log",
    shell:
        f"{EMMIE} stage moderators {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} --results {RESULTS}/{{wildcards.review}} > {{log}} 2>&1"
