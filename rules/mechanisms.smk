rule mechanisms:
    input:
        step_files("mechanisms"),
    output:
        directory(f"{RESULTS}/{{review}}/mechanisms"),
    params:
        code=EMMIE_CODE,
        yaml_keys=step_keys("mechanisms"),
    threads: 1
    resources:
        mem_mb=per_attempt(2000),
        runtime=per_attempt(30),
    log:
        f"{RESULTS}/logs/{{review}}/mechanisms.log",
    shell:
        f"{EMMIE} stage mechanisms {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} > {{log}} 2>&1"
