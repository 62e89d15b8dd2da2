#!/usr/bin/env bash
# Instructions per training step of each benchmark loop, counted by
# callgrind (deterministic: the same binary and inputs give the same count,
# whatever else the machine does). Per-step cost = (I(N2) - I(N1)) / (N2 - N1),
# which cancels start-up and data generation.
#
# Usage: scripts/count-instructions.sh [N1] [N2]   (default 1000 3000)
# Needs valgrind (apt-get install valgrind) and a release build of the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
n1=${1:-1000}
n2=${2:-3000}
cargo build --release -q -p feasible-lab
bin=target/release/feasible
count() {
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" bench loop --kind "$1" --steps "$2" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"
  rm -f "$out"
}
printf '%-20s %14s\n' loop instructions/step
for kind in loss-only hand-penalty hand-lagrangian feasible-penalty feasible-lagrangian; do
  a=$(count "$kind" "$n1")
  b=$(count "$kind" "$n2")
  printf '%-20s %14.0f\n' "$kind" "$(echo "($b - $a) / ($n2 - $n1)" | bc -l)"
done
