#!/usr/bin/env bash
# Runs a real, local, single-node Apache Kafka 4.x broker (KRaft, combined broker+controller) for
# the demo, the tests and CI. No Docker and no tarball: the broker's jars come from Maven Central
# (the one place we can reach), resolved once by Maven into a cache directory.
#
# Run with --help for usage. Every setting has an environment variable so test harnesses and CI
# can drive it without flags.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/kafka.sh COMMAND [OPTIONS]

Commands:
  fetch       download Kafka and its runtime dependencies into the cache (no-op when cached)
  start       format storage if needed, start the broker in the background, wait until it serves
              (no-op when this script's broker already runs on the port); fetches if needed
  stop        SIGTERM, wait for a clean shutdown (NUMFLOW_KAFKA_STOP_TIMEOUT, 30 s), then SIGKILL
  kill        SIGKILL at once (fault tests); data is kept, the next start recovers it
  restart     stop, then start
  reset       kill the broker if running and delete its data and logs
  status      exit 0 if a broker serves on the port, non-zero otherwise
  wait        wait until a broker serves on the port (NUMFLOW_KAFKA_START_TIMEOUT, 60 s)
  logs        print the end of the broker log (-f to follow, -n N lines)
  bootstrap   print the bootstrap address, 127.0.0.1:PORT
  classpath   print the Java classpath of the cached jars
  tool CLASS [ARGS...]
              run a Kafka command-line class with the cached classpath, e.g.
              tool org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list

Options:
  --port N              client (PLAINTEXT) port           [NUMFLOW_KAFKA_PORT, 9092]
  --controller-port N   KRaft controller port             [NUMFLOW_KAFKA_CONTROLLER_PORT, port+1000]
  --dir DIR             config, data, logs and pid file   [NUMFLOW_KAFKA_DIR, /tmp/numflow-kafka-PORT]
  --fresh               start: wipe data first (stops a running broker)
  --set KEY=VALUE       start: extra/overriding broker property (repeatable)
                                                          [NUMFLOW_KAFKA_PROPERTIES, space separated]
  --timeout SECONDS     start/wait: readiness timeout     [NUMFLOW_KAFKA_START_TIMEOUT, 60]
  -f, --follow          logs: follow
  -n N                  logs: number of lines (default 100)
  -h, --help            this help

Other environment:
  KAFKA_VERSION          org.apache.kafka:kafka_2.13 version (default 4.1.2)
  NUMFLOW_KAFKA_CACHE    jar cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/numflow/kafka-$KAFKA_VERSION)
  NUMFLOW_KAFKA_HEAP     broker heap, fixed (-Xms = -Xmx; default 1g, as Kafka's own start script)
  NUMFLOW_KAFKA_JAVA_OPTS  extra JVM options for the broker
  JAVA_HOME              Java 17+ to use (default: java on PATH)

Data survives stop/kill/start so tests can restart the broker mid-stream; use start --fresh or
reset for a clean one. Several brokers can run at once on different ports.
EOF
}

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Settings
KAFKA_VERSION=${KAFKA_VERSION:-4.1.2}
# log4j2 for Kafka versions whose dependencies lack it (4.0; see cmd_fetch). 4.0.x ships 2.24.3.
LOG4J_VERSION=${LOG4J_VERSION:-2.24.3}
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
NODE_ID=1

PORT=${NUMFLOW_KAFKA_PORT:-9092}
CONTROLLER_PORT=${NUMFLOW_KAFKA_CONTROLLER_PORT:-}
DIR=${NUMFLOW_KAFKA_DIR:-}
START_TIMEOUT=${NUMFLOW_KAFKA_START_TIMEOUT:-60}
STOP_TIMEOUT=${NUMFLOW_KAFKA_STOP_TIMEOUT:-30}
# Kafka's own kafka-server-start.sh default. A smaller heap that grows on demand (512m max was
# the default here) ran G1's concurrent cycles and mixed collections all the time under the
# benchmarks' load, with pauses up to 167 ms; a fixed 1 GB one did young collections only, the
# longest 60-92 ms (docs/PERFORMANCE.md).
HEAP=${NUMFLOW_KAFKA_HEAP:-1g}
read -r -a EXTRA_PROPS <<<"${NUMFLOW_KAFKA_PROPERTIES:-}"
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
FRESH=0 FOLLOW=0 LINES=100

COMMAND=""
TOOL_ARGS=()
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --port) PORT=${2:?--port needs a value}; shift ;;
    --port=*) PORT=${1#*=} ;;
    --controller-port) CONTROLLER_PORT=${2:?--controller-port needs a value}; shift ;;
    --controller-port=*) CONTROLLER_PORT=${1#*=} ;;
    --dir) DIR=${2:?--dir needs a value}; shift ;;
    --dir=*) DIR=${1#*=} ;;
    --timeout) START_TIMEOUT=${2:?--timeout needs a value}; shift ;;
    --timeout=*) START_TIMEOUT=${1#*=} ;;
    --set) EXTRA_PROPS+=("${2:?--set needs KEY=VALUE}"); shift ;;
    --set=*) EXTRA_PROPS+=("${1#*=}") ;;
    --fresh) FRESH=1 ;;
    -f|--follow) FOLLOW=1 ;;
    -n) LINES=${2:?-n needs a value}; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      [[ -z $COMMAND ]] || die "unexpected argument $1 (see --help)"
      COMMAND=$1
      # Everything after `tool` belongs to the Java class.
      if [[ $COMMAND == tool ]]; then shift; TOOL_ARGS=("$@"); break; fi ;;
  esac
  shift
done
[[ -n $COMMAND ]] || { usage >&2; exit 2; }

is_port() { [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && (($1 < 65536)); }
is_port "$PORT" || die "bad port '$PORT'"
CONTROLLER_PORT=${CONTROLLER_PORT:-$((PORT + 1000))}
is_port "$CONTROLLER_PORT" || die "bad controller port '$CONTROLLER_PORT'"
((PORT != CONTROLLER_PORT)) || die "port and controller port must differ"
[[ $START_TIMEOUT =~ ^[0-9]+$ ]] || die "bad timeout '$START_TIMEOUT'"
for kv in "${EXTRA_PROPS[@]}"; do [[ $kv == ?*=* ]] || die "--set expects KEY=VALUE, got '$kv'"; done

DIR=${DIR:-/tmp/numflow-kafka-$PORT}
[[ $DIR == /* ]] || DIR=$PWD/$DIR   # the pid check matches the absolute config path
CACHE=${NUMFLOW_KAFKA_CACHE:-${XDG_CACHE_HOME:-${HOME:?neither HOME nor XDG_CACHE_HOME is set}/.cache}/numflow/kafka-$KAFKA_VERSION}
BOOTSTRAP=127.0.0.1:$PORT
PIDFILE=$DIR/kafka.pid
CONFIG=$DIR/server.properties
DATA=$DIR/data
LOGDIR=$DIR/logs
LOGFILE=$LOGDIR/server.log
[[ $CACHE == /* ]] || CACHE=$PWD/$CACHE
CLASSPATH_GLOB="$CACHE/libs/*"    # literal: java expands a trailing /* itself
COMPLETE_MARK=$CACHE/.complete

# fds 8 and 9 hold our flock locks; the broker must not inherit them (see launch).
lock() { # lock FD FILE: serialize fetch/start/stop between concurrent invocations
  command -v flock >/dev/null || return 0
  eval "exec $1>>\"\$2\"" 2>/dev/null || die "cannot write $2 (owned by another user? use --dir)"
  flock "$1"
}

# ---------------------------------------------------------------------------------------------
# fetch

jars_cached() { [[ -f $COMPLETE_MARK && -f $CACHE/libs/kafka_2.13-$KAFKA_VERSION.jar ]]; }

# pom NAME DEPENDENCY...: a minimal pom whose dependencies are "group:artifact:version" strings,
# each optionally followed by "!group:artifact" exclusions ('*' allowed).
pom() {
  local name=$1 dep gav ex g a v
  shift
  printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
    '<!-- Generated by numflow scripts/kafka.sh to fetch a local Kafka broker. -->' \
    '<project xmlns="http://maven.apache.org/POM/4.0.0">' \
    '  <modelVersion>4.0.0</modelVersion>' \
    "  <groupId>numflow.local</groupId><artifactId>$name</artifactId><version>1</version>" \
    '  <packaging>pom</packaging>' '  <dependencies>'
  for dep in "$@"; do
    IFS='!' read -r -a gav <<<"$dep"
    IFS=: read -r g a v <<<"${gav[0]}"
    echo "    <dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version>"
    if ((${#gav[@]} > 1)); then
      echo "      <exclusions>"
      for ex in "${gav[@]:1}"; do
        echo "        <exclusion><groupId>${ex%%:*}</groupId><artifactId>${ex#*:}</artifactId></exclusion>"
      done
      echo "      </exclusions>"
    fi
    echo "    </dependency>"
  done
  printf '%s\n' '  </dependencies>' '</project>'
}

# mvn_copy DIR POM [ARGS...]: copy the pom's runtime classpath (compile + runtime scope) into DIR,
# flat, one jar per artifact.
mvn_copy() {
  local dir=$1 pomfile=$2
  shift 2
  mvn -q -B -f "$pomfile" "$DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$dir" "$@" >>"$dir.mvn.log" 2>&1
}

# Log configuration for short-lived command-line tools: warnings to stderr only.
write_tools_log4j() {
  cat >"$1" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders><Console name="stderr" target="SYSTEM_ERR"><PatternLayout pattern="%p %m (%c)%n"/></Console></Appenders>
  <Loggers><Root level="WARN"><AppenderRef ref="stderr"/></Root></Loggers>
</Configuration>
EOF
}

cmd_fetch() {
  if jars_cached; then log "Kafka $KAFKA_VERSION cached in $CACHE"; return 0; fi
  command -v mvn >/dev/null || die "mvn not found (scripts/install-deps.sh installs maven)"
  mkdir -p "$CACHE"
  lock 8 "$CACHE/.lock"
  if jars_cached; then return 0; fi   # another invocation fetched it while we waited for the lock
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and dependencies from Maven Central into $CACHE"
  local tmp log4j_version log4j=()
  tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
  FETCH_TMP=$tmp
  trap 'rm -rf "$FETCH_TMP"' EXIT   # no half-fetched leftovers on failure or Ctrl-C
  # Pass 1: the broker (kafka_2.13: kafka.Kafka, kafka.tools.StorageTool, and at runtime scope
  # kafka-server, -metadata, -raft, -storage, the group/transaction/share coordinators) and
  # kafka-tools (TopicCommand, ConsumerGroupCommand, ... for tests and the demo) without Connect's
  # runtime (Jetty, Jersey: half the download, needed only by the Connect tools).
  pom kafka-broker "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" \
    "org.apache.kafka:kafka-tools:$KAFKA_VERSION!org.apache.kafka:connect-runtime!com.fasterxml.jackson.jakarta.rs:*" \
    >"$tmp/pom.xml"
  if ! mvn_copy "$tmp/libs" "$tmp/pom.xml"; then
    tail -n 30 "$tmp/libs.mvn.log" | sed 's/\x1b\[[0-9;]*m//g' >&2   # Maven 3.8 colours even with -B
    die "Maven could not fetch Kafka $KAFKA_VERSION (is that version on Maven Central?)"
  fi
  [[ -f $tmp/libs/kafka_2.13-$KAFKA_VERSION.jar ]] || die "Maven succeeded but kafka_2.13-$KAFKA_VERSION.jar is missing"

  # Pass 2: logging. Kafka logs through SLF4J 1.7 to log4j2, but its Maven dependencies lack the
  # SLF4J binding (the binary distribution adds it), and 4.0 lacks log4j2 itself. Add the binding
  # at the log4j2 version Kafka brought, so all log4j modules match; or all three at LOG4J_VERSION.
  log4j_version=$(find "$tmp/libs" -name 'log4j-core-*.jar' | sed -n 's/.*log4j-core-\(.*\)\.jar$/\1/p')
  if [[ -n $log4j_version ]]; then
    log4j=("org.apache.logging.log4j:log4j-slf4j-impl:$log4j_version")
  else
    log4j=(log4j-api log4j-core log4j-slf4j-impl)
    log4j=("${log4j[@]/#/org.apache.logging.log4j:}")
    log4j=("${log4j[@]/%/:$LOG4J_VERSION}")
  fi
  pom kafka-logging "${log4j[@]}" >"$tmp/pom-logging.xml"
  if ! mvn_copy "$tmp/libs" "$tmp/pom-logging.xml" -DexcludeTransitive=true; then
    tail -n 30 "$tmp/libs.mvn.log" | sed 's/\x1b\[[0-9;]*m//g' >&2   # Maven 3.8 colours even with -B
    die "Maven could not fetch ${log4j[*]}"
  fi

  write_tools_log4j "$tmp/tools-log4j2.xml"
  # Swap in atomically-enough: a half-copied libs/ is never marked complete.
  rm -rf "$CACHE/libs" "$CACHE/pom.xml" "$CACHE/pom-logging.xml" "$CACHE/tools-log4j2.xml"
  mv "$tmp/libs" "$CACHE/libs"
  mv "$tmp/pom.xml" "$tmp/pom-logging.xml" "$tmp/tools-log4j2.xml" "$CACHE/"
  rm -rf "$tmp"
  trap - EXIT
  date -u +%FT%TZ >"$COMPLETE_MARK"
  log "fetched $(find "$CACHE/libs" -name '*.jar' | wc -l) jars ($(du -sh "$CACHE/libs" | cut -f1))"
}

ensure_jars() { jars_cached || cmd_fetch; }

java_tool() { # java_tool CLASS ARGS...: run a short-lived Kafka CLI class
  ensure_jars
  # C1-only JIT: these JVMs live a second or two, so skipping C2 makes them start faster.
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$CACHE/tools-log4j2.xml" -cp "$CLASSPATH_GLOB" "$@"
}

# ---------------------------------------------------------------------------------------------
# Process and readiness checks

alive() { # alive PID: running and not a zombie (PID 1 in containers does not always reap)
  local state
  [[ -r /proc/$1/status ]] || { kill -0 "$1" 2>/dev/null; return; }
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# Prints the pid of this directory's broker if it runs. The pid file alone is not enough: after a
# crash or reboot the pid may belong to something else, so check the command line too.
broker_pid() {
  local pid cmdline
  [[ -f $PIDFILE ]] || return 1
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"kafka.Kafka $CONFIG"* ]] || return 1
  echo "$pid"
}

port_open() { # port_open PORT: something accepts TCP connections on 127.0.0.1:PORT
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

KCAT=$(command -v kcat || command -v kafkacat || true)

# Serving = the broker answers a metadata request and lists itself, which a KRaft broker only does
# once it has caught up with the metadata log and been unfenced by the controller (a merely open
# port is not enough: topic creation would still fail).
serving() {
  port_open "$PORT" || return 1
  [[ -n $KCAT ]] || return 0   # without kcat the open port is the best signal we have
  local metadata
  metadata=$("$KCAT" -b "$BOOTSTRAP" -L -m 3 2>/dev/null) || return 1
  [[ $metadata == *"broker $NODE_ID at "* ]]
}

show_log_tail() {
  local errors
  [[ -s $LOGDIR/stdout.log ]] && { log "---- $LOGDIR/stdout.log ----"; tail -n 20 "$LOGDIR/stdout.log" >&2; }
  [[ -s $LOGFILE ]] || return 0
  # A failed startup ends with pages of orderly shutdown; the cause is in the ERROR lines above it.
  errors=$(grep -E -A 2 '^\[[^]]*\] (ERROR|FATAL)' "$LOGFILE" | tail -n 15) || true
  [[ -n $errors ]] && { log "---- errors in $LOGFILE ----"; echo "$errors" >&2; }
  log "---- last lines of $LOGFILE ----"
  tail -n 15 "$LOGFILE" >&2
}

# wait_serving [PID]: poll until serving; with a PID, fail fast if that process dies.
wait_serving() {
  local pid=${1:-} deadline=$((SECONDS + START_TIMEOUT))
  until serving; do
    if [[ -n $pid ]] && ! alive "$pid"; then
      log "error: the broker (pid $pid) exited during startup"
      show_log_tail
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "error: no broker serving on $BOOTSTRAP after ${START_TIMEOUT}s"
      show_log_tail
      return 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# Configuration and storage

write_config() {
  cat >"$CONFIG" <<EOF
# Generated by scripts/kafka.sh on every start; edit the script or pass --set KEY=VALUE.
# Single-node KRaft: this process is both broker and (sole) controller.
process.roles=broker,controller
node.id=$NODE_ID
# Dynamic quorum (KIP-853): the storage was formatted with --standalone, so the voter set lives in
# the metadata log and controller.quorum.voters must not be set.
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA

# One replica of everything, including the internal topics (defaults assume three brokers).
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer partitions than the default 50 for __consumer_offsets and __transaction_state: created on
# first use, and 50 of them make the first group join / transaction of a test noticeably slower.
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5

# Topics are provisioned explicitly (numflow's AdminClient code or TopicCommand), as in production.
auto.create.topics.enable=false
# Let a consumer group's first rebalance complete at once instead of after 3 s.
group.initial.rebalance.delay.ms=0
# After a SIGKILL the controller keeps the dead incarnation registered until its session expires
# (default 9 s) and refuses the restarted broker until then; a shorter session lets a restart in
# a fault test register after ~4 s instead of ~9 s.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000

# Compaction (number-changes, extension-changes) must be observable within a test: the cleaner
# checks every second instead of every 15, and its dedupe buffer is sized for a 512 MB heap.
# The active segment is never compacted: tests that check compaction also set a small segment.ms
# on their topic.
log.cleaner.enable=true
log.cleaner.backoff.ms=1000
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=33554432
log.segment.bytes=16777216
log.retention.check.interval.ms=10000
num.recovery.threads.per.data.dir=1
EOF
  if ((${#EXTRA_PROPS[@]})); then
    # Java Properties: a later line wins, so these override the defaults above.
    printf '\n# --set / NUMFLOW_KAFKA_PROPERTIES\n' >>"$CONFIG"
    printf '%s\n' "${EXTRA_PROPS[@]}" >>"$CONFIG"
  fi
}

write_broker_log4j() {
  cat >"$DIR/log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/kafka.sh: the broker logs to logs/server.log (INFO, noisy loggers WARN). -->
<!-- shutdownHook="disable": log4j's own hook would otherwise stop logging while Kafka's shutdown
     hook is still running, and the log would end before "shut down completed". -->
<Configuration status="warn" name="numflow-kafka" shutdownHook="disable">
  <Appenders>
    <RollingFile name="file" fileName="${sys:kafka.logs.dir}/server.log"
                 filePattern="${sys:kafka.logs.dir}/server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="20 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="WARN"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="WARN"/>
  </Loggers>
</Configuration>
EOF
}

new_cluster_id() {
  # Kafka's Uuid string form: 16 random bytes, URL-safe base64 without padding (22 chars). Like
  # Uuid.randomUuid(), avoid a leading '-' that a command line would read as an option. Done in
  # bash because `StorageTool random-uuid` costs a JVM start.
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || break
  done
  echo "$id"
}

format_storage() {
  [[ -f $DATA/meta.properties ]] && return 0
  local id
  id=$(new_cluster_id)
  log "formatting KRaft storage in $DATA (cluster id $id)"
  mkdir -p "$DATA"
  if ! java_tool kafka.tools.StorageTool format --standalone --cluster-id "$id" --config "$CONFIG" \
      >"$LOGDIR/format.log" 2>&1; then
    cat "$LOGDIR/format.log" >&2
    die "formatting storage failed"
  fi
  # The controller's own endpoint is recorded in the metadata log at format time.
  echo "$CONTROLLER_PORT" >"$DIR/controller-port"
}

# ---------------------------------------------------------------------------------------------
# Commands

launch() {
  local opts=()
  [[ -f $LOGDIR/stdout.log ]] && mv -f "$LOGDIR/stdout.log" "$LOGDIR/stdout.log.1"  # keep one for post-mortems
  read -r -a opts <<<"${NUMFLOW_KAFKA_JAVA_OPTS:-}"
  (
    # The broker outlives us, so it must not keep our caller's descriptors open: a CI runner or a
    # `$(kafka.sh start)` would wait for EOF on an inherited pipe forever, and fds 8/9 are our
    # flock locks. Close everything but stdin/stdout/stderr, which go to /dev/null and a file.
    for fd in "/proc/$BASHPID/fd/"*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    # setsid: its own session, so the broker is not hit by the Ctrl-C or process-group kill aimed
    # at whatever ran `kafka.sh start` (ctest, CI steps). This subshell is not a process group
    # leader, so setsid execs in place and $! below is the JVM's pid.
    exec setsid "$JAVA" "-Xmx$HEAP" "-Xms$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
      -Dkafka.logs.dir="$LOGDIR" -Dlog4j2.configurationFile="$DIR/log4j2.xml" \
      ${opts[@]+"${opts[@]}"} \
      -cp "$CLASSPATH_GLOB" kafka.Kafka "$CONFIG"
  ) </dev/null >"$LOGDIR/stdout.log" 2>&1 &
  echo $! >"$PIDFILE"
}

# stop_broker SIGNAL_TIMEOUT: SIGTERM, wait up to TIMEOUT s, then SIGKILL (TIMEOUT 0 = kill now).
stop_broker() {
  local timeout=$1 pid deadline
  if ! pid=$(broker_pid); then
    rm -f "$PIDFILE"
    return 1
  fi
  if ((timeout > 0)); then
    log "stopping broker (pid $pid) on $BOOTSTRAP"
    kill -TERM "$pid" 2>/dev/null || die "cannot signal pid $pid (started by another user?)"
    deadline=$((SECONDS + timeout))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    alive "$pid" && log "warning: no clean shutdown after ${timeout}s, sending SIGKILL"
  else
    log "killing broker (pid $pid) on $BOOTSTRAP"
  fi
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || die "cannot signal pid $pid (started by another user?)"
    deadline=$((SECONDS + 10))
    while alive "$pid"; do
      ((SECONDS < deadline)) || die "pid $pid survived SIGKILL"
      sleep 0.1
    done
  fi
  rm -f "$PIDFILE"
}

cmd_start() {
  ensure_jars
  command -v "$JAVA" >/dev/null || die "java not found (Java 17+ is needed)"
  mkdir -p "$DIR" || die "cannot create $DIR"
  [[ -w $DIR ]] || die "$DIR is not writable by $(id -un) (another user's broker? use --dir)"
  lock 9 "$DIR/.lock"

  local pid
  if pid=$(broker_pid); then
    if ((FRESH)); then
      stop_broker 0 || true
    else
      log "already running (pid $pid) on $BOOTSTRAP"
      wait_serving "$pid"
      return 0
    fi
  fi
  rm -f "$PIDFILE"

  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    port_open "$p" && die "port $p is already in use by another process (see: ss -ltnp 'sport = :$p')"
  done

  if ((FRESH)); then
    log "wiping $DATA"
    rm -rf "$DATA" "$LOGDIR" "$DIR/controller-port"
  fi
  if [[ -f $DATA/meta.properties && -f $DIR/controller-port ]] &&
     [[ $(<"$DIR/controller-port") != "$CONTROLLER_PORT" ]]; then
    die "$DATA was formatted for controller port $(<"$DIR/controller-port"); use that or start --fresh"
  fi

  mkdir -p "$LOGDIR"
  write_config
  write_broker_log4j
  format_storage

  local t0=$SECONDS
  launch
  pid=$(<"$PIDFILE")
  log "started Kafka $KAFKA_VERSION (pid $pid), waiting for $BOOTSTRAP (log: $LOGFILE)"
  if ! wait_serving "$pid"; then
    stop_broker 0 >/dev/null 2>&1 || true
    die "broker did not come up"
  fi
  log "broker serving on $BOOTSTRAP after $((SECONDS - t0))s"
}

cmd_stop() {
  [[ -d $DIR ]] || { log "not running on $BOOTSTRAP"; return 0; }
  lock 9 "$DIR/.lock"
  stop_broker "$STOP_TIMEOUT" || { log "not running on $BOOTSTRAP"; return 0; }
  log "stopped"
}

cmd_kill() {
  [[ -d $DIR ]] || { log "not running on $BOOTSTRAP"; return 0; }
  lock 9 "$DIR/.lock"
  stop_broker 0 || log "not running on $BOOTSTRAP"
}

cmd_reset() {
  [[ -d $DIR ]] || return 0
  lock 9 "$DIR/.lock"
  stop_broker 0 || true
  rm -rf "$DATA" "$LOGDIR" "$DIR/controller-port"
  log "deleted the data and logs in $DIR"
}

cmd_status() {
  local pid
  if pid=$(broker_pid); then
    if serving; then echo "running (pid $pid) on $BOOTSTRAP"; return 0; fi
    echo "starting or unhealthy (pid $pid) on $BOOTSTRAP"; return 1
  fi
  if serving; then echo "a broker not started by this script serves on $BOOTSTRAP"; return 0; fi
  echo "not running on $BOOTSTRAP"
  return 3
}

cmd_wait() {
  local pid=""
  pid=$(broker_pid) || pid=""
  wait_serving "$pid" || exit 1
}

cmd_logs() {
  [[ -f $LOGFILE ]] || die "no log at $LOGFILE"
  if ((FOLLOW)); then exec tail -n "$LINES" -F "$LOGFILE"; fi
  tail -n "$LINES" "$LOGFILE"
}

case $COMMAND in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  restart) cmd_stop; cmd_start ;;
  reset) cmd_reset ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  logs) cmd_logs ;;
  bootstrap) echo "$BOOTSTRAP" ;;
  classpath) ensure_jars; echo "$CLASSPATH_GLOB" ;;
  tool)
    ((${#TOOL_ARGS[@]})) || die "tool needs a class name, e.g. org.apache.kafka.tools.TopicCommand"
    java_tool "${TOOL_ARGS[@]}" ;;
  *) die "unknown command '$COMMAND' (see --help)" ;;
esac
