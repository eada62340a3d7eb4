#!/usr/bin/env bash
# WAN: 50 ms RTT, 1 Gbit/s each way through `yamux-perf relay` (a separate process). One stream,
# SIZE up (then SIZE down, separately), every pair in each repetition, interleaved:
# bare TCP (--stack tcp), ours->ours (Noise), go->go, ours->go, go->ours; rate = bytes*8/timeSeconds
# of the final line (connect and handshakes included, the same for every pair).
# Usage: run.sh BIN GO_PEER REPS SIZE_BYTES [extra client args for ours]
set -u
BIN=${1:?yamux-perf}; GO=${2:?go peer}; REPS=${3:-5}; SIZE=${4:-536870912}; shift 4; EXTRA="$*"
dir=$(dirname "$0"); out=$dir/raw${TAG:-}.txt; : >"$out"
log() { echo "$*" | tee -a "$out"; }
pids=()
$BIN server --listen /ip4/127.0.0.1/tcp/5401 --stack tcp >/dev/null 2>&1 & pids+=($!)
$BIN server --listen /ip4/127.0.0.1/tcp/5402 $EXTRA >/tmp/pw-wan-s2 2>/dev/null & pids+=($!)
$GO --run-server --server-address 127.0.0.1:5403 >/tmp/pw-wan-s3 2>/dev/null & pids+=($!)
sleep 1
relay() { $BIN relay --to "$1" --rtt 50ms --rate 1Gbit >"$2" 2>/dev/null & pids+=($!); }
relay 127.0.0.1:5401 /tmp/pw-wan-r1; relay "$(head -1 /tmp/pw-wan-s2)" /tmp/pw-wan-r2
relay "$(head -1 /tmp/pw-wan-s3)" /tmp/pw-wan-r3
$BIN relay --to 127.0.0.1:5401 --rate 1Gbit >/tmp/pw-wan-r0 2>/dev/null & pids+=($!)
sleep 1
R0=$(head -1 /tmp/pw-wan-r0); R1=$(head -1 /tmp/pw-wan-r1); R2=$(head -1 /tmp/pw-wan-r2); R3=$(head -1 /tmp/pw-wan-r3)
rate() { python3 -c "import json,sys
for l in sys.stdin:
    try: j=json.loads(l)
    except Exception: continue
    if j.get('type')=='final': print('%.1f' % ((j['uploadBytes']+j['downloadBytes'])*8/j['timeSeconds']/1e6))"; }
log "machine: $(nproc) cores; start load $(cut -d' ' -f1-3 /proc/loadavg); size $SIZE; ours extra: $EXTRA"
for r in $(seq 1 "$REPS"); do
  log "rep $r load $(cut -d' ' -f1-3 /proc/loadavg)"
  for dirn in up down; do
    if [ $dirn = up ]; then U=$SIZE; D=0; else U=0; D=$SIZE; fi
    a=$($BIN client --stack tcp --server "$R0" --upload $U --download $D --no-progress 2>/dev/null | rate)
    b=$($BIN client --stack tcp --server "$R1" --upload $U --download $D --no-progress 2>/dev/null | rate)
    c=$($BIN client --server "$R2" --upload $U --download $D --no-progress $EXTRA 2>/dev/null | rate)
    d=$($GO --server-address "$R3" --upload-bytes $U --download-bytes $D 2>/dev/null | rate)
    e=$($BIN client --server "$R3" --upload $U --download $D --no-progress $EXTRA 2>/dev/null | rate)
    f=$($GO --server-address "$R2" --upload-bytes $U --download-bytes $D 2>/dev/null | rate)
    log "$dirn Mbit/s: tcp_rtt0=$a tcp=$b ours_ours=$c go_go=$d ours_to_go=$e go_to_ours=$f"
  done
done
kill "${pids[@]}"
log "end load $(cut -d' ' -f1-3 /proc/loadavg)"
