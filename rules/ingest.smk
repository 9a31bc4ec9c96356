# Validation runs first. A review whose data are invalid is recorded as failed: its
# later steps only pass the validation messages on to its report, and the other
# reviews go on.
rule validate:
    input:
        review_files,
    output:
        f"{RESULTS}/{{review}}/validation.json",
        validated=f"{RESULTS}/{{review}}/validated.pickle",
    params:
        code=EMMIE_CODE,
    threads: 1
    priority: 1  # short, and the rating waits for it: before the long moderator and CMO analyses
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(15),
    log:
        f"{RESULTS}/logs/{{review}}/validate.log",
    shell:
        f"{EMMIE} validate {DATA}/{{wildcards.review}} --record {{output[0]}} --validated {{output.validated}} > {{log}} 2>&1"
