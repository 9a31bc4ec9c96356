#!/usr/bin/env bash
# Bring up a one-node SLURM cluster on this machine, with accounting (slurmdbd + MariaDB), so that
# `snakemake --profile profiles/slurm` can be run for real: the SLURM executor plugin submits with sbatch
# and polls job states with sacct, which needs accounting.
#
#   sudo bash cluster/up.sh          # as root; Debian or Ubuntu (installs the packages when missing)
#   bash cluster/down.sh             # stops it again
#
# Everything it writes is under /etc/slurm (slurm.conf, slurmdbd.conf), /var/lib/emmie-cluster (state,
# spool, logs) and MariaDB's database slurm_acct_db. It is for testing emmie's profile, not for production.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "cluster/up.sh: run as root (it starts munged, MariaDB and the SLURM daemons)" >&2; exit 1; }

PACKAGES="slurm-wlm slurmdbd mariadb-server munge"
missing=""
for p in $PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "installing$missing"
  # with the package lists as they are; if they are stale or missing, once more after refreshing them
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null; }
fi

STATE=/var/lib/emmie-cluster
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p "$STATE"/{ctld,d,log} /run/munge /run/mysqld
chown slurm:slurm "$STATE"/ctld "$STATE"/log
chown munge:munge /run/munge
chown mysql:mysql /run/mysqld

# munge: the key the daemons authenticate with (the package makes one; make it if it is missing)
[ -s /etc/munge/munge.key ] || { /usr/sbin/mungekey --create >/dev/null; chown munge:munge /etc/munge/munge.key; }
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged

# MariaDB, and the accounting database
if ! mysqladmin ping --silent 2>/dev/null; then
  [ -d /var/lib/mysql/mysql ] || mysql_install_db --user=mysql >/dev/null
  (mysqld_safe --user=mysql >/dev/null 2>&1 &)
  for _ in $(seq 60); do mysqladmin ping --silent 2>/dev/null && break; sleep 0.5; done
fi
mysql -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db; \
  CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'emmie-cluster-test'; \
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"

cat > /etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
LogFile=$STATE/log/slurmdbd.log
PidFile=$STATE/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=emmie-cluster-test
StorageLoc=slurm_acct_db
EOF
chown slurm:slurm /etc/slurm/slurmdbd.conf
chmod 600 /etc/slurm/slurmdbd.conf

cat > /etc/slurm/slurm.conf <<EOF
ClusterName=emmie
SlurmctldHost=$HOST
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# containers: no cgroups
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
# keep each job's comment (the executor plugin's rule_<rule>_wildcards_<review>) in the accounting
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
ReturnToService=2
MpiDefault=none
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=emmie Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

# (re)start the SLURM daemons with this configuration
for d in slurmd slurmctld slurmdbd; do pkill -x "$d" 2>/dev/null || true; done
running() { for d in "$@"; do pgrep -x "$d" >/dev/null && return 0; done; return 1; }
for _ in $(seq 40); do running slurmd slurmctld slurmdbd || break; sleep 0.25; done
/usr/sbin/slurmdbd
for _ in $(seq 60); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.5; done
sacctmgr -i -Q add cluster emmie >/dev/null 2>&1 || true
/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 60); do
  state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null || true)
  case "$state" in idle*|mix*|alloc*) break ;; esac
  sleep 0.5
done
scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
sinfo
sacct -n -X -S now-1minutes >/dev/null  # accounting answers
echo "one-node SLURM cluster up: partition emmie on $HOST ($CPUS CPUs, $MEM MB)"
