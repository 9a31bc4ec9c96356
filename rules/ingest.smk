# Validation runs first; a review whose data are invalid is recorded as failed and
# not analysed, while the other reviews go on.
checkpoint validate:
    input:
        review_files,
    output:
        f"{RESULTS}/{{review}}/validation.json",
    log:
        f"{RESULTS}/logs/{{review}}/validate.log",
    shell:
        f"{EMMIE} validate {DATA}/{{wildcards.review}} --record {{output}} > {{log}} 2>&1"
