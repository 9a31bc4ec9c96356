rule snapshots:
    input:
        review_files,
        validation=f"{RESULTS}/{{review}}/validation.json",
    output:
        directory(f"{RESULTS}/{{review}}/snapshots"),
    params:
        code=EMMIE_CODE,
    threads: 1
    priority: 1  # short, and the rating waits for it: before the long moderator and CMO analyses
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    log:
        f"{RESULTS}/logs/{{review}}/snapshots.log",
    shell:
        f"{EMMIE} snapshots {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {{output}} > {{log}} 2>&1"


rule findings:
    input:
        review_files,
        emmie=f"{RESULTS}/{{review}}/emmie.json",
        snapshots=f"{RESULTS}/{{review}}/snapshots",
    output:
        report(f"{RESULTS}/{{review}}/findings.json", caption="captions/findings.rst", category="Findings", labels={"review": "{review}", "file": "findings.json"}),
    params:
        code=EMMIE_CODE,
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(10),
    log:
        f"{RESULTS}/logs/{{review}}/findings.log",
    shell:
        f"{EMMIE} findings {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {RESULTS}/{{wildcards.review}} {{output}} > {{log}} 2>&1"


rule report:
    input:
        review_files,
        emmie=f"{RESULTS}/{{review}}/emmie.json",
        findings=f"{RESULTS}/{{review}}/findings.json",
    output:
        report(f"{REPORTS}/{{review}}/index.html", caption="captions/reports.rst", category="Reports", labels={"review": "{review}", "output": "full review"}),
        report(f"{REPORTS}/{{review}}/practice-guide.html", caption="captions/reports.rst", category="Reports", labels={"review": "{review}", "output": "practice guide"}),
        report(f"{REPORTS}/{{review}}/implementation-summary.html", caption="captions/reports.rst", category="Reports", labels={"review": "{review}", "output": "implementation summary"}),
        report(f"{REPORTS}/{{review}}/information-sheet.html", caption="captions/reports.rst", category="Reports", labels={"review": "{review}", "output": "information sheet"}),
    params:
        code=EMMIE_CODE,
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(10),
    log:
        f"{RESULTS}/logs/{{review}}/report.log",
    shell:
        f"{EMMIE} report {DATA}/{{wildcards.review}} --validated {RESULTS}/{{wildcards.review}}/validated.pickle {RESULTS}/{{wildcards.review}} {REPORTS}/{{wildcards.review}} > {{log}} 2>&1"


rule toolkit:
    input:
        [f"{RESULTS}/{r}/validation.json" for r in REVIEWS],
        [f"{RESULTS}/{r}/emmie.json" for r in REVIEWS],
        [f"{RESULTS}/{r}/findings.json" for r in REVIEWS],
        # the pages it links to: a card is shown only when its report was made (render_toolkit)
        [f"{REPORTS}/{r}/index.html" for r in REVIEWS],
        [f"{DATA}/{r}/review.yaml" for r in REVIEWS if Path(DATA, r, "review.yaml").is_file()],
    output:
        report(f"{REPORTS}/index.html", caption="captions/toolkit.rst", category="Reports", labels={"review": "all", "output": "toolkit page"}),
    params:
        code=EMMIE_CODE,
        validations=[f"{RESULTS}/{r}/validation.json" for r in REVIEWS],
    threads: 1
    resources:
        mem_mb=per_attempt(1000),
        runtime=per_attempt(5),
    log:
        f"{RESULTS}/logs/toolkit.log",
    shell:
        f"{EMMIE} toolkit {{output}} --results {RESULTS} --data {DATA} {{params.validations}} > {{log}} 2>&1"
