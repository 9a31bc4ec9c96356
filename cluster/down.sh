#!/usr/bin/env bash
# Stop the one-node SLURM cluster cluster/up.sh started (the SLURM daemons, munged, MariaDB).
set -u
for d in slurmd slurmctld slurmdbd; do pkill -x "$d" 2>/dev/null; done
mysqladmin shutdown 2>/dev/null
pkill -x munged 2>/dev/null
running() { for d in "$@"; do pgrep -x "$d" >/dev/null && return 0; done; return 1; }
for _ in $(seq 20); do running slurmd slurmctld slurmdbd munged mariadbd || break; sleep 0.5; done
echo "one-node SLURM cluster stopped"
