#!/usr/bin/env bash
# burn-flex's `simd` and `rayon` features, one at a time (issue 13).
#
# Builds the lab four ways (neither feature, simd only, rayon only, both),
# then times the two tasks of the position paper's Table 2 with each build:
# the rate step (400 points, linear model) and the sparsity step (the gated
# MLP 784-300-100-10, batches of 256, Adam), penalized and constrained
# (`feasible bench table2`). The builds with rayon run with one and with two
# rayon threads (RAYON_NUM_THREADS). Rounds are interleaved: each round runs
# every configuration once, so a slow moment of the machine hits them alike;
# the table gives medians over rounds, milliseconds per step.
#
# Usage: scripts/bench-flex-features.sh [ROUNDS] [RATE_STEPS]
#   (default 5 rounds, 10,000 rate steps; the sparsity task runs 200 steps)
# The builds go to target/flex-variants/ (burn is rebuilt once per feature
# set: 8 to 13 minutes each on 2 cores the first time); SKIP_BUILD=1 times
# the binaries already there.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
rate_steps=${2:-10000}
out=target/flex-variants
mkdir -p "$out"

build() { # name features
  echo "building: $1 (--no-default-features --features $2)" >&2
  cargo build --release -q -p feasible-lab --no-default-features --features "$2"
  cp target/release/feasible "$out/feasible-$1"
}
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  build none mimalloc
  build simd mimalloc,flex-simd
  build rayon mimalloc,flex-rayon
  build both mimalloc,flex-simd,flex-rayon
fi

configs=("none 1" "simd 1" "rayon 1" "rayon 2" "both 1" "both 2")
results="$out/results.jsonl"
: >"$results"
for round in $(seq "$rounds"); do
  for config in "${configs[@]}"; do
    read -r variant threads <<<"$config"
    echo "round $round/$rounds: $variant, $threads rayon thread(s)" >&2
    RAYON_NUM_THREADS=$threads "$out/feasible-$variant" bench table2 --repeats 1 --steps "$rate_steps" --json |
      jq -c --arg v "$variant" --argjson t "$threads" '. + {variant: $v, rayon_threads: $t}' >>"$results"
  done
done

rounds_done=$(jq -s 'map(select(.task == "rate")) | length / 6 | floor' "$results")
echo "burn-flex features: median of $rounds_done interleaved rounds, ms per step"
jq -rs '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor]
                     else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  "variant\trayon threads\trate penalized\trate constrained\tsparsity penalized\tsparsity constrained",
  (group_by([.variant, .rayon_threads]) | sort_by(.[0].variant, .[0].rayon_threads)[] |
    (map(select(.task == "rate"))) as $r | (map(select(.task == "sparsity"))) as $s |
    "\(.[0].variant)\t\(.[0].rayon_threads)\t" +
    ([($r | map(1000 * .penalized_seconds / .steps) | median),
      ($r | map(1000 * .constrained_seconds / .steps) | median),
      ($s | map(1000 * .penalized_seconds / .steps) | median),
      ($s | map(1000 * .constrained_seconds / .steps) | median)]
     | map(. * 1000 | round / 1000 | tostring) | join("\t")))
' "$results" | column -t -s $'\t'
echo "raw rows: $results" >&2
