#!/usr/bin/env bash
# make cluster-test: run the bundled reviews through profiles/slurm on a real (one-node) SLURM cluster and
# check that (1) every job went through the scheduler (SLURM's accounting lists each one, completed) and
# (2) every output is byte for byte the output of a local run of the same data.
#
#   sudo make cluster-test          # brings the cluster up (cluster/up.sh) and stops it at the end
#   KEEP_CLUSTER=1 make cluster-test   # leaves it running (stop it with cluster/down.sh)
#
# Works in a temporary folder; data/ is only read. Needs root (the daemons) and the project's .venv.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
# Snakemake's SLURM executor plugins, which make installs apart (pyproject.toml, extra slurm); the jobs
# inherit the variable (sbatch --export=ALL), so the job steps find the jobstep plugin too.
export PYTHONPATH="$ROOT/.venv/slurm-plugin${PYTHONPATH:+:$PYTHONPATH}"
bash "$ROOT/cluster/up.sh"
[ "${KEEP_CLUSTER:-0}" = 1 ] || trap 'bash "$ROOT/cluster/down.sh" >/dev/null' EXIT

WORK=$(mktemp -d /tmp/emmie-cluster-test.XXXXXX)
REVIEWS=$("$PY" -c "import yaml,sys; print(' '.join(yaml.safe_load(open('$ROOT/config/config.yaml'))['reviews']))")
for run in local slurm; do
  mkdir -p "$WORK/$run/config" "$WORK/$run/data"
  cp "$ROOT/config/config.yaml" "$WORK/$run/config/"
  for r in $REVIEWS _reference; do cp -r "$ROOT/data/$r" "$WORK/$run/data/"; done
done
SNAKEMAKE=("$PY" -m snakemake --snakefile "$ROOT/Snakefile")

echo "== local run"
start=$(date +%s)
"${SNAKEMAKE[@]}" --directory "$WORK/local" --cores 2 --quiet all > "$WORK/local.log" 2>&1
echo "   $(( $(date +%s) - start )) s"

echo "== SLURM run (profiles/slurm, partition emmie)"
since=$(date +%Y-%m-%dT%H:%M:%S)
start=$(date +%s)
EMMIE_SLURM_PARTITION=emmie "${SNAKEMAKE[@]}" --directory "$WORK/slurm" --profile "$ROOT/profiles/slurm" \
  --slurm-no-account --slurm-init-seconds-before-status-checks 2 > "$WORK/slurm.log" 2>&1 \
  || { tail -40 "$WORK/slurm.log"; echo "cluster-test: the SLURM run failed (log: $WORK/slurm.log)" >&2; exit 1; }
echo "   $(( $(date +%s) - start )) s"

echo "== the scheduler's accounting"
sacct -n -X -P -S "$since" -o JobID,Comment,State,Elapsed,AllocCPUS,ReqMem > "$WORK/sacct.txt"
awk -F'|' '{printf "   %-5s %-48s %-10s %-9s cpus %-2s mem %s\n", $1, $2, $3, $4, $5, $6}' "$WORK/sacct.txt"
# one completed SLURM job for each step of each review (all and toolkit are local rules)
"$PY" - "$WORK/sacct.txt" "$WORK/slurm.log" $REVIEWS <<'PYEOF'
import re, sys
sacct, log, reviews = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [line.split("|") for line in open(sacct).read().splitlines() if line]
done = [r[1] for r in rows if r[2] == "COMPLETED"]
steps = ["validate", "effect", "moderators", "mechanisms", "implementation", "economics", "appraisal", "snapshots",
         "rate", "findings", "report"]
expected = sorted(f"rule_{s}_wildcards_{r}" for s in steps for r in reviews)
submitted = len(re.findall(r"has been submitted with SLURM jobid", open(log).read()))
problems = []
if sorted(done) != expected:
    problems.append(f"missing: {sorted(set(expected) - set(done))}; unexpected: {sorted(set(done) - set(expected))}")
if len(rows) != len(done):
    problems.append(f"{len(rows) - len(done)} job(s) not COMPLETED")
if submitted != len(expected):
    problems.append(f"Snakemake submitted {submitted} jobs; expected {len(expected)}")
if problems:
    sys.exit("cluster-test: " + "; ".join(problems))
print(f"   {len(done)} SLURM jobs, one per step and review, all COMPLETED in sacct; all and toolkit ran locally")
PYEOF

echo "== outputs, byte for byte"
differ=$(diff -rq -x logs -x .snakemake -x .snakemake_timestamp "$WORK/local/results" "$WORK/slurm/results" || true)
differ+=$(diff -rq "$WORK/local/reports" "$WORK/slurm/reports" || true)
if [ -n "$differ" ]; then echo "$differ"; echo "cluster-test: outputs differ" >&2; exit 1; fi
files=$(find "$WORK/slurm/results" "$WORK/slurm/reports" -type f -not -path "*/logs/*" -not -name .snakemake_timestamp | wc -l)
echo "   $files files identical (results/ and reports/, logs aside)"
echo "cluster-test: passed ($WORK)"
