#!/bin/bash
# Two builds side by side on the incremental workload as a user runs it: increments arrive one by
# one in a folder and `mrm run <job> --input <folder> --state <dir> --out <file>` runs after each.
# Each build has its own folder and state (batch identity is the path); the order alternates
# every increment; the results are compared every 10th and at the last increment.
#   scripts/perf/incremental-ab.sh <build A checkout> <build B checkout> <folder of part-NN.txt> [increments] [work dir]
# Prints "<increment> <A|B> <wall s> <user s> <sys s> <max RSS KiB> <1-min load>" per run.
# The parts: the incremental suite's cached cut, e.g. /tmp/mrm-bench-data/<hash>-x4-f51 (run the
# suite once to make it).
set -eu
A=$1; B=$2; PARTS=$3; COUNT=${4:-51}; WORK=${5:-/tmp/mrm-incremental-ab}
rm -rf "$WORK"; mkdir -p "$WORK/in-A" "$WORK/in-B"
mapfile -t FILES < <(ls "$PARTS"/part-*.txt | sort | head -n "$COUNT")
for i in "${!FILES[@]}"; do
  f=${FILES[$i]}
  order="A B"; [ $((i % 2)) -eq 1 ] && order="B A"
  for who in $order; do
    R=$A; [ "$who" = B ] && R=$B
    cp "$f" "$WORK/in-$who/"
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" node "$R/packages/cli/bin/mrm.js" run "$R/examples/wordcount/job.ts" \
      --input "$WORK/in-$who" --state "$WORK/st-$who" --out "$WORK/out-$who.jsonl" --quiet >/dev/null 2>"$WORK/err" ||
      { cat "$WORK/err"; exit 1; }
    echo "$((i + 1)) $who $(cat "$WORK/time") $(cut -d' ' -f1 /proc/loadavg)"
  done
  if [ $((i % 10)) -eq 9 ] || [ $((i + 1)) -eq ${#FILES[@]} ]; then
    cmp -s "$WORK/out-A.jsonl" "$WORK/out-B.jsonl" && echo "$((i + 1)) results equal" || { echo "$((i + 1)) RESULTS DIFFER"; exit 1; }
  fi
done
