#!/usr/bin/env bash
# Stop the one-node SLURM cluster cluster/up.sh started (the SLURM daemons, munged, MariaDB).
set -u
for d in slurmd slurmctld slurmdbd; do pkill -x "$d" 2>/dev/null; done
mysqladmin shutdown 2>/dev/null
pkill -x munged 2>/dev/null
for _ in $(seq 20); do pgrep -x "slurmd|slurmctld|slurmdbd|munged|mariadbd" >/dev/null || break; sleep 0.5; done
echo "one-node SLURM cluster stopped"
