#!/bin/bash
# usage: run.sh BIN TAG ; callgrind of the whole client process (embedded server in-process), 64 MiB each way, Noise
BIN=$1; TAG=$2
valgrind --tool=callgrind --callgrind-out-file=/tmp/cg/$TAG.out $BIN client --upload 64MiB --download 64MiB --no-progress > /tmp/cg/$TAG.stdout 2> /tmp/cg/$TAG.stderr
callgrind_annotate /tmp/cg/$TAG.out 2>/dev/null | head -30 > /tmp/cg/$TAG.txt
