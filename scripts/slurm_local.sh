#!/usr/bin/env bash
# A real single-node SLURM cluster on localhost, for the generation pipeline's tests.
#
#   bash scripts/slurm_local.sh start    install (once), configure, start, wait until usable
#   bash scripts/slurm_local.sh status   show the daemons, the node and the queue
#   bash scripts/slurm_local.sh stop     stop the daemons this script started (by pid file)
#
# Debian 12, as root. No systemd here: the daemons are started by hand (munged as user munge,
# mariadbd as user mysql, slurmdbd, slurmctld and slurmd as root). Accounting goes through
# slurmdbd + MariaDB because submitit only sees a cancelled job through sacct. `start` is
# idempotent and takes about a second when everything already runs; it exits non-zero and
# prints the daemons' logs when the cluster does not come up.
set -euo pipefail

CLUSTER=frozenbench
CONF_DIR=/etc/slurm
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm
RUN_DIR=/run/slurm-local
DB_USER=slurm
DB_PASS=frozenbench-local
LOCK=/run/slurm_local.lock
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server mariadb-client)
WAIT_S=${SLURM_LOCAL_WAIT_S:-60}

log() { echo "slurm_local: $*" >&2; }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        log "must run as root (it installs packages and starts system daemons)"
        exit 2
    fi
}

# ---------------------------------------------------------------------------------- install
install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Service starts are blocked at install time here (no systemd); we start daemons ourselves.
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$RUN_DIR/apt.log" 2>&1
    then
        log "apt-get install failed; refreshing the package lists once and retrying"
        apt-get update -qq >>"$RUN_DIR/apt.log" 2>&1 || true
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$RUN_DIR/apt.log" 2>&1 \
            || { tail -n 30 "$RUN_DIR/apt.log" >&2; log "package installation failed"; exit 1; }
    fi
}

# ---------------------------------------------------------------------------------- config
# Write $2 to $1 only when it changed; returns 0 if the file changed.
write_if_changed() {
    local path=$1 content=$2
    if [ -f "$path" ] && [ "$(cat "$path")" == "$content" ]; then
        return 1
    fi
    printf '%s\n' "$content" >"$path"
    return 0
}

configure() {
    mkdir -p "$CONF_DIR" "$LOG_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd" "$RUN_DIR"
    local cpus mem_kb real_mem
    cpus=$(nproc)
    mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    # Below MemTotal, or slurmd reports less than configured and the node drains.
    real_mem=$(( mem_kb / 1024 * 9 / 10 ))
    CONF_CHANGED=0
    write_if_changed "$CONF_DIR/slurm.conf" "# Written by scripts/slurm_local.sh: single-node test cluster.
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job may only restart after cred_expire (default 120 s).
AuthInfo=cred_expire=10
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
# No cgroups here.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
KillWait=5
InactiveLimit=0
MinJobAge=300
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP" && CONF_CHANGED=1

    write_if_changed "$CONF_DIR/slurmdbd.conf" "# Written by scripts/slurm_local.sh.
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$RUN_DIR/slurmdbd.pid
LogFile=$LOG_DIR/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db" && CONF_CHANGED=1
    # slurmdbd refuses a config readable by others or not owned by SlurmUser.
    chown root:root "$CONF_DIR/slurmdbd.conf"
    chmod 600 "$CONF_DIR/slurmdbd.conf"
}

# ---------------------------------------------------------------------------------- daemons
pid_alive() {  # pid file -> 0 if its process runs
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_for() {  # description, command... (gives up early if the process $WATCH_PID died)
    local what=$1; shift
    local deadline=$(( SECONDS + WAIT_S ))
    until "$@" >/dev/null 2>&1; do
        if [ -n "${WATCH_PID:-}" ] && ! kill -0 "$WATCH_PID" 2>/dev/null; then
            log "$what: the process exited"
            return 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            log "timed out after ${WAIT_S}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

munge_ok() { munge -n | unmunge; }

start_munge() {
    munge_ok >/dev/null 2>&1 && return 0
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null; then
            mungekey --create --force
        else
            dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
        fi
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 755 /run/munge
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged --force 9>&-
    wait_for "munge" munge_ok
}

db_ok() { mariadb-admin --silent ping; }

start_mariadb() {
    if ! db_ok >/dev/null 2>&1; then
        mkdir -p /run/mysqld /var/log/mysql
        chown mysql:mysql /run/mysqld /var/log/mysql
        if [ ! -d /var/lib/mysql/mysql ]; then
            mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$RUN_DIR/mariadb-install.log" 2>&1
        fi
        log "starting mariadbd"
        nohup /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql \
            --pid-file=/run/mysqld/mariadbd.pid --log-error=/var/log/mysql/error.log \
            --innodb-buffer-pool-size=64M >/dev/null 2>&1 9>&- &
        WATCH_PID=$! wait_for "mariadb" db_ok
    fi
    # root logs in through the unix socket; slurmdbd uses its own user.
    mariadb -e "CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
                GRANT ALL ON slurm_acct_db.* TO '$DB_USER'@'localhost';"
}

dbd_ok() { sacctmgr -n -P list cluster format=cluster; }

start_slurmdbd() {
    if pid_alive "$RUN_DIR/slurmdbd.pid" && [ "$CONF_CHANGED" -eq 0 ]; then
        return 0
    fi
    if pid_alive "$RUN_DIR/slurmdbd.pid"; then
        kill "$(cat "$RUN_DIR/slurmdbd.pid")"; sleep 1
    fi
    log "starting slurmdbd"
    /usr/sbin/slurmdbd 9>&-
    wait_for "slurmdbd" dbd_ok
}

start_slurmctld() {
    if pid_alive "$RUN_DIR/slurmctld.pid"; then
        [ "$CONF_CHANGED" -eq 1 ] && scontrol reconfigure
        return 0
    fi
    log "starting slurmctld"
    /usr/sbin/slurmctld -i 9>&-
    wait_for "slurmctld" scontrol ping
}

start_slurmd() {
    pid_alive "$RUN_DIR/slurmd.pid" && return 0
    log "starting slurmd"
    /usr/sbin/slurmd -N localhost 9>&-
}

node_state() { sinfo -h -n localhost -o %t 2>/dev/null | head -n 1; }

node_ready() {
    local s
    s=$(node_state)
    # idle on a fresh start; mix/alloc when a previous test session still has jobs running.
    case "$s" in idle|mix|alloc|comp|idle*|mix*|alloc*) return 0 ;; esac
    case "$s" in down*|drain*|drng*|fail*)
        scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
    esac
    return 1
}

sacct_ok() { sacct -n -X -S now-1hours -o jobid; }

print_logs() {
    log "---- daemon logs ----"
    for f in /var/log/munge/munged.log /var/log/mysql/error.log "$LOG_DIR/slurmdbd.log" \
             "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log"; do
        if [ -f "$f" ]; then
            echo "==== $f (last 25 lines)" >&2
            tail -n 25 "$f" >&2
        else
            echo "==== $f: missing" >&2
        fi
    done
    echo "==== sinfo" >&2
    sinfo -N -l >&2 2>&1 || true
}

start() {
    need_root
    mkdir -p "$RUN_DIR"
    exec 9>"$LOCK"
    # pytest workers may call start at the same time; daemons must not inherit fd 9 (9>&-).
    flock 9
    local t0=$SECONDS
    install_packages
    configure
    if ! { start_munge && start_mariadb && start_slurmdbd && start_slurmctld && start_slurmd \
            && wait_for "the node to become idle (sinfo)" node_ready \
            && wait_for "sacct" sacct_ok; }; then
        log "the local SLURM cluster did not come up"
        print_logs
        exit 1
    fi
    log "ready in $(( SECONDS - t0 ))s: node localhost $(node_state), $(nproc) CPUs"
}

status() {
    local rc=0
    for f in "$RUN_DIR/slurmdbd.pid" "$RUN_DIR/slurmctld.pid" "$RUN_DIR/slurmd.pid" \
             /run/mysqld/mariadbd.pid; do
        local d
        d=$(basename "$f" .pid)
        if pid_alive "$f"; then
            echo "$d: running (pid $(cat "$f"))"
        else
            echo "$d: not running"; rc=1
        fi
    done
    if munge_ok >/dev/null 2>&1; then echo "munged: running"; else echo "munged: not running"; rc=1; fi
    if [ $rc -eq 0 ]; then
        sinfo -N -l || rc=1
        squeue || rc=1
    fi
    return $rc
}

stop_pid() {  # name pidfile
    local pidfile=$2 pid
    if pid_alive "$pidfile"; then
        pid=$(cat "$pidfile")
        log "stopping $1 (pid $pid)"
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
}

stop() {
    need_root
    stop_pid slurmd "$RUN_DIR/slurmd.pid"
    stop_pid slurmctld "$RUN_DIR/slurmctld.pid"
    stop_pid slurmdbd "$RUN_DIR/slurmdbd.pid"
    stop_pid mariadbd /run/mysqld/mariadbd.pid
    stop_pid munged /run/munge/munged.pid
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
