#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for parsim's Slurm test (Debian/Ubuntu, run as root).
#
#   scripts/slurm-local.sh start    install Slurm and munge if needed, start munged, slurmctld, slurmd
#   scripts/slurm-local.sh status   show the daemons this script started and the node's state
#   scripts/slurm-local.sh stop     stop the daemons this script started (and nothing else)
#
# State (pid files, logs, Slurm's spool and state dirs, the job completion log) lives in
# $PARSIM_SLURM_STATE (default /tmp/parsim-slurm). The configuration goes to /etc/slurm/slurm.conf, where
# sbatch and squeue find it without SLURM_CONF; a slurm.conf this script did not write is never touched.
# Only the processes recorded in the pid files are ever signalled.
set -euo pipefail

STATE=${PARSIM_SLURM_STATE:-/tmp/parsim-slurm}
CONF=/etc/slurm/slurm.conf
MARKER="# written by parsim scripts/slurm-local.sh"
DAEMONS=(slurmd slurmctld munged)   # stop order: the reverse of start order

log() { printf 'slurm-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- processes ------------------------------------------------------------------------------------------

# Alive and not a zombie (a killed daemon stays a zombie until its parent reaps it).
alive() {
    local pid=$1 state
    [[ -r /proc/$pid/stat ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# The pid recorded for a daemon, if its process is still that daemon (pids are reused). A freshly launched
# daemon is briefly named `setsid` (setsid execs it), munged may show as `setpriv` the same way.
recorded_pid() {
    local name=$1 file=$STATE/$1.pid pid comm
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    alive "$pid" || return 1
    comm=$(<"/proc/$pid/comm")
    case $comm in
        "$name" | setsid | setpriv) printf '%s\n' "$pid" ;;
        *) return 1 ;;
    esac
}

stop_daemon() {
    local name=$1 pid i
    if ! pid=$(recorded_pid "$name"); then
        rm -f "$STATE/$name.pid"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/$name.pid"
}

# Start a daemon in the foreground mode of its own, detached in a new session; record its pid.
launch() {
    local name=$1
    shift
    if pid=$(recorded_pid "$name"); then
        log "$name already running (pid $pid)"
        return 0
    fi
    setsid "$@" </dev/null >>"$STATE/$name.stdout" 2>&1 &
    echo $! >"$STATE/$name.pid"
    log "started $name (pid $!)"
}

# --- installation and configuration ---------------------------------------------------------------------

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null &&
        command -v munged >/dev/null; then
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "Slurm is not installed and installing it needs root"
    log "installing munge and Slurm from the distribution"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null
}

prepare_munge() {
    install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
    install -d -o munge -g munge -m 0755 /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating /etc/munge/munge.key"
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
}

write_config() {
    local host node_line
    host=$(hostname -s)
    if [[ -f $CONF ]] && ! grep -qxF "$MARKER" "$CONF"; then
        die "$CONF exists and was not written by this script; not touching it"
    fi
    # `slurmd -C` prints this machine's NodeName=... CPUs=... RealMemory=... line.
    node_line=$(slurmd -C | head -n 1)
    [[ $node_line == NodeName=* ]] || die "unexpected output of slurmd -C: $node_line"
    node_line="NodeName=$host NodeAddr=127.0.0.1 ${node_line#NodeName=* } State=UNKNOWN"
    install -d -m 0755 /etc/slurm "$STATE/ctld" "$STATE/d"
    cat >"$CONF.partial" <<EOF
$MARKER
# A one-node cluster for tests; state in $STATE.
ClusterName=parsim-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.daemon.pid
SlurmdPidFile=$STATE/slurmd.daemon.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0
$node_line
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.partial" "$CONF"
}

wait_for_node() {
    local i state
    for ((i = 0; i < 300; i++)); do
        state=$(sinfo -h -N -o %T 2>/dev/null | head -n 1 || true)
        case $state in
            idle* | mixed* | allocated*)
                log "node is $state"
                return 0
                ;;
        esac
        sleep 0.1
    done
    die "the node did not become idle within 30 s (state: ${state:-none}); see $STATE/*.log"
}

# --- subcommands ----------------------------------------------------------------------------------------

start() {
    install_packages
    install -d -m 0755 "$STATE"
    prepare_munge
    write_config
    # munged refuses to run as root: run it as the munge user, in the foreground so that the pid is its own.
    launch munged setpriv --reuid=munge --regid=munge --init-groups munged --foreground
    for ((i = 0; i < 50; i++)); do
        [[ -S /run/munge/munge.socket.2 ]] && break
        sleep 0.1
    done
    [[ -S /run/munge/munge.socket.2 ]] || die "munged did not start; see $STATE/munged.stdout"
    # -c: a clean queue, nothing left from an earlier cluster.
    launch slurmctld slurmctld -D -c -f "$CONF"
    launch slurmd slurmd -D -f "$CONF" -N "$(hostname -s)"
    wait_for_node
}

stop() {
    local name
    for name in "${DAEMONS[@]}"; do
        stop_daemon "$name"
    done
}

status() {
    local name pid down=0
    for name in munged slurmctld slurmd; do
        if pid=$(recorded_pid "$name"); then
            printf '%-10s running (pid %s)\n' "$name" "$pid"
        else
            printf '%-10s not running\n' "$name"
            down=1
        fi
    done
    if ((down == 0)); then
        sinfo
    fi
    return "$down"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
