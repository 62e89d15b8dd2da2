#!/usr/bin/env bash
# Instructions per training step of each variant of `feasible bench
# mlp-step` (the Fashion-MNIST MLP with and without a constraint, user loop
# and Learner), counted by callgrind: deterministic, whatever else the
# machine does. Per-step cost = (I(N2) - I(N1)) / (N2 - N1), which cancels
# start-up and data generation. Synthetic pixels of Fashion-MNIST's shape
# (a step's work does not depend on them) and one rayon thread (no spinning
# workers in the count).
#
# Usage: scripts/count-mlp-instructions.sh [N1] [N2]   (default 10 30)
# Needs valgrind (apt-get install valgrind) and a release build of the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
n1=${1:-10}
n2=${2:-30}
cargo build --release -q -p feasible-lab
bin=${CARGO_TARGET_DIR:-target}/release/feasible
count() {
  local out
  out=$(mktemp)
  RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$bin" bench mlp-step --synthetic --variant "$1" --rounds "$2" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"
  rm -f "$out"
}
printf '%-20s %14s\n' variant instructions/step
for variant in plain hand-constrained user-loop learner-plain learner-hand learner-constrained; do
  a=$(count "$variant" "$n1")
  b=$(count "$variant" "$n2")
  printf '%-20s %14.0f\n' "$variant" "$(echo "($b - $a) / ($n2 - $n1)" | bc -l)"
done
