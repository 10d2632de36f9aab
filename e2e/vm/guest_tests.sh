#!/bin/sh
# Stage 2 in the guest: a pure cgroup v2 kernel. Runs berth-runtime with real limits and
# prints one line per check, "VMTEST <name> PASS|FAIL <detail>", then "VMTEST-DONE", and
# powers the machine off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpu +cpuset +memory +pids +io +hugetlb" > /sys/fs/cgroup/cgroup.subtree_control
echo "VMTEST-START controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

RT="/berth/berth-runtime --root /run/rt"
BUNDLE=/berth/bundle
CG=/sys/fs/cgroup/berth

result() {  # name pass|fail detail
  echo "VMTEST $1 $2 $3"
}

# Writes config.json with the given process args and linux.resources JSON. The arguments are
# put in literally (awk's index/substr, not sed, whose replacement treats & and | specially);
# they must not contain double quotes or backslashes.
spec() {  # resources-json args...
  res=$1
  shift
  args=""
  for a in "$@"; do args="$args\"$a\","; done
  ARGS="${args%,}" RES="$res" awk '{
    line = $0
    i = index(line, "@ARGS@"); if (i) line = substr(line, 1, i - 1) ENVIRON["ARGS"] substr(line, i + 6)
    i = index(line, "@RESOURCES@"); if (i) line = substr(line, 1, i - 1) ENVIRON["RES"] substr(line, i + 11)
    print line
  }' "$BUNDLE/config.template" > "$BUNDLE/config.json"
}

# memory: 32 MiB limit, 100 MiB allocation → OOM kill (137).
spec '{"memory": {"limit": 33554432}}' dd if=/dev/zero of=/dev/null bs=100M count=1
$RT run --bundle $BUNDLE mem >/dev/null 2>&1
rc=$?
if [ "$rc" = 137 ]; then result memory_oom PASS "exit $rc"; else result memory_oom FAIL "exit $rc"; fi

# memory.max as written, read from inside the container's own cgroup view.
spec '{"memory": {"limit": 33554432, "swap": 67108864}}' sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.swap.max'
out=$($RT run --bundle $BUNDLE memfiles 2>&1 | tr '\n' ' ')
[ "$out" = "33554432 33554432 " ] && result memory_files PASS "$out" || result memory_files FAIL "$out"

# pids: a fork loop stops at 20.
spec '{"pids": {"limit": 20}}' sh -c '(for i in $(seq 40); do sleep 30 & done) 2>/dev/null; cat /sys/fs/cgroup/pids.current /sys/fs/cgroup/pids.max; cat /sys/fs/cgroup/pids.events'
out=$($RT run --bundle $BUNDLE pids 2>/dev/null | tr '\n' ' ')
set -- $out
if [ "$1" -le 20 ] && [ "$2" = 20 ] && [ "${4:-0}" -gt 0 ]; then result pids_limit PASS "$out"; else result pids_limit FAIL "$out"; fi

# cpu: a quota of half a CPU throttles a busy loop.
spec '{"cpu": {"quota": 50000, "period": 100000}}' sh -c 'end=$(($(date +%s)+3)); while [ $(date +%s) -lt $end ]; do :; done; cat /sys/fs/cgroup/cpu.max; grep nr_throttled /sys/fs/cgroup/cpu.stat'
out=$($RT run --bundle $BUNDLE cpu 2>/dev/null | tr '\n' ' ')
set -- $out
if [ "$1 $2" = "50000 100000" ] && [ "${4:-0}" -gt 0 ]; then result cpu_quota PASS "$out"; else result cpu_quota FAIL "$out"; fi

# cpuset, io weight, hugetlb: written as specified.
spec '{"cpu": {"cpus": "0", "shares": 512}, "blockIO": {"weight": 500}, "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}' sh -c 'cat /sys/fs/cgroup/cpuset.cpus /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/hugetlb.2MB.max; cat /sys/fs/cgroup/io.weight 2>/dev/null | head -1'
out=$($RT run --bundle $BUNDLE files 2>&1 | tr '\n' ' ')
case "$out" in
  "0 "*" 0 "*) result cpuset_weight_hugetlb PASS "$out" ;;
  *) result cpuset_weight_hugetlb FAIL "$out" ;;
esac

# update and pause on a running container.
spec '{"pids": {"limit": 10}}' sleep 100
$RT run --detach --bundle $BUNDLE live >/dev/null 2>&1
$RT update --pids-limit 30 --memory 67108864 live 2>/dev/null
out="$(cat $CG/live/pids.max) $(cat $CG/live/memory.max)"
[ "$out" = "30 67108864" ] && result update PASS "$out" || result update FAIL "$out"
$RT pause live
st=$($RT state live | grep -o '"status": "[a-z]*"')
fr=$(grep frozen $CG/live/cgroup.events)
[ "$st" = '"status": "paused"' ] && [ "$fr" = "frozen 1" ] && result pause PASS "$st $fr" || result pause FAIL "$st $fr"
$RT resume live
out=$($RT events --stats live)
case "$out" in
  *'"memory"'*'"pids"'*) result stats PASS "memory and pids present" ;;
  *) result stats FAIL "$out" ;;
esac
$RT delete --force live

# The engine: berthd, the shim and the CLI, with the limits as `berth run` sets them.
if [ -x /berth/berthd ]; then
  mkdir -p /var/lib/berth /run/berth
  printf 'shim: /berth/berth-shim\nruntimes:\n  berth-runtime: /berth/berth-runtime\nsnapshotter: native\ndefault_network: none\n' > /run/berthd.yaml
  /berth/berthd --config /run/berthd.yaml --root /var/lib/berth --state /run/berth \
    >/run/berthd.log 2>&1 &
  berthd=$!
  B="/berth/berth -H unix:///run/berth/berthd.sock"
  for i in $(seq 100); do $B version >/dev/null 2>&1 && break; sleep 0.2; done
  $B load -q -i /berth/busybox.tar >/dev/null 2>&1
  $B events > /run/events.log 2>&1 &
  events=$!
  sleep 1

  $B run --name oom -m 32m busybox dd if=/dev/zero of=/dev/null bs=100M count=1 >/dev/null 2>&1
  rc=$?
  sleep 1
  killed=$($B inspect -f '{{.State.OOMKilled}}' oom 2>&1)
  kill $events 2>/dev/null
  ev=$(grep -c oom /run/events.log)
  if [ "$rc" = 137 ] && [ "$killed" = true ] && [ "$ev" -gt 0 ]; then
    result engine_oom PASS "exit $rc, OOMKilled $killed, $ev oom event(s)"
  else
    result engine_oom FAIL "exit $rc, OOMKilled $killed, events: $(cat /run/events.log | tr '\n' ' ')"
  fi

  out=$($B run --rm --pids-limit 20 busybox sh -c '(for i in $(seq 40); do sleep 30 & done) 2>/dev/null; cat /sys/fs/cgroup/pids.current /sys/fs/cgroup/pids.max' 2>&1 | tr '\n' ' ')
  set -- $out
  if [ "${1:-99}" -le 20 ] 2>/dev/null && [ "$2" = 20 ]; then result engine_pids PASS "$out"; else result engine_pids FAIL "$out"; fi

  out=$($B run --rm --cpus 0.5 busybox sh -c 'end=$(($(date +%s)+3)); while [ $(date +%s) -lt $end ]; do :; done; cat /sys/fs/cgroup/cpu.max; grep -E "^usage_usec|^nr_throttled" /sys/fs/cgroup/cpu.stat' 2>&1 | tr '\n' ' ')
  set -- $out
  # A 3 s busy loop under half a CPU uses about 1.5 s of CPU, well under 3 s.
  if [ "$1 $2" = "50000 100000" ] && [ "${6:-0}" -gt 0 ] 2>/dev/null && [ "${4:-9999999}" -lt 2600000 ]; then
    result engine_cpus PASS "$out"
  else
    result engine_cpus FAIL "$out"
  fi

  $B run -d --name live -m 64m --pids-limit 50 busybox sleep 300 >/dev/null 2>&1
  $B update --memory 96m --pids-limit 70 live >/dev/null 2>&1
  out=$($B exec live cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>&1 | tr '\n' ' ')
  [ "$out" = "100663296 70 " ] && result engine_update PASS "$out" || result engine_update FAIL "$out"

  out=$($B stats --no-stream live 2>&1 | tail -1)
  case "$out" in
    *MiB*|*KiB*) result engine_stats PASS "$out" ;;
    *) result engine_stats FAIL "$out" ;;
  esac

  $B pause live >/dev/null 2>&1
  st=$($B inspect -f '{{.State.Status}}' live 2>&1)
  fr=$(cat /sys/fs/cgroup/berth/default/*/cgroup.events 2>/dev/null | grep -c 'frozen 1')
  if [ "$st" = paused ] && [ "$fr" -ge 1 ]; then result engine_pause PASS "$st, frozen"; else result engine_pause FAIL "$st $fr"; fi
  $B unpause live >/dev/null 2>&1
  $B rm -f live oom >/dev/null 2>&1
  kill $berthd 2>/dev/null
  sleep 1
fi

echo VMTEST-DONE
sync
poweroff -f
