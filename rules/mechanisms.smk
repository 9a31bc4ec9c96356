rule mechanisms:
    input:
        review_files,
        validation=f"{RESULTS}/{{review}}/validation.json",
    output:
        directory(f"{RESULTS}/{{review}}/mechanisms"),
    params:
        code=EMMIE_CODE,
    log:
        f"{RESULTS}/logs/{{review}}/mechanisms.log",
    shell:
        f"{EMMIE} stage mechanisms {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} > {{log}} 2>&1"
