#!/bin/bash
# Alternating same-run comparison of commands by CPU seconds (user + sys, /usr/bin/time) and peak RSS:
#   scripts/perf/ab-cpu.sh <rounds> <label> "<command>" <label> "<command>" ...
# The order reverses every other round; each command runs with $D = the wordcount suite's 64 MB input
# and should use --state /tmp/sp-ab-state (emptied before each run). Prints the 1-minute load average.
rounds=$1; shift
D=/tmp/mrm-bench-data/14fa82696b43a8fb-x4-f8
labels=(); cmds=()
while [ $# -gt 0 ]; do labels+=("$1"); cmds+=("$2"); shift 2; done
n=${#labels[@]}
for r in $(seq 1 $rounds); do
  for j in $(seq 0 $((n-1))); do
    if [ $((r % 2)) = 0 ]; then i=$((n-1-j)); else i=$j; fi
    rm -rf /tmp/sp-ab-state
    la=$(cut -d' ' -f1 /proc/loadavg)
    out=$( { D=$D nice -n 19 /usr/bin/time -f "TIME %e %U %S %M" bash -c "${cmds[$i]}" >/dev/null; } 2>&1 | grep TIME)
    set -- $out
    echo "round $r ${labels[$i]} wall $2 cpu $(echo "$3 + $4" | bc) user $3 sys $4 rssKB $5 load $la"
  done
done
