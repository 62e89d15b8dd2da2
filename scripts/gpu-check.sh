#!/usr/bin/env bash
# Runs the rate and sparsity experiments on the CPU (`--device flex`) and on
# a GPU, and compares their key numbers; exits non-zero when they disagree
# beyond the tolerances below, or when anything fails.
#
#   scripts/gpu-check.sh [DEVICE]      DEVICE: wgpu (default), cuda, cuda:N
#
# Builds the lab in release mode with the device's feature (`wgpu` or
# `cuda`), so the first run compiles burn's GPU backend. Environment:
#   SPARSITY_ARGS  arguments of the sparsity runs (default `--quick`: 6,000
#                  Fashion-MNIST images; empty for the full run)
#   RATE_ARGS      arguments of the rate runs (default: none, the full sweep)
#   KEEP           a directory to keep the JSON outputs in (default: a
#                  temporary one, removed at exit)
#
# Tolerances (absolute, on fractions). Same seeds on both devices, but the
# GPU sums in another order, so trajectories part after many steps:
#   rate:     class-0 rate and accuracy of every run within 0.02, and the
#             Lagrangian runs' feasibility (true rate >= target) the same;
#   sparsity: the density and test accuracy of each constrained training and
#             of the penalty bisection's selected training within 0.02.
set -euo pipefail
cd "$(dirname "$0")/.."

device=${1:-wgpu}
case "$device" in
  wgpu) feature=wgpu ;;
  cuda | cuda:[0-9]*) feature=cuda ;;
  *)
    echo "gpu-check: unknown GPU device \`$device\`; use wgpu, cuda or cuda:N" >&2
    exit 2
    ;;
esac
command -v python3 >/dev/null || { echo "gpu-check: python3 is needed to compare the runs" >&2; exit 2; }

if [[ -n "${KEEP:-}" ]]; then
  out=$KEEP
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

echo "== building the lab with --features $feature" >&2
cargo build --release -q -p feasible-lab --features "$feature"
bin=${CARGO_TARGET_DIR:-target}/release/feasible
[[ -x "$bin" ]] || { echo "gpu-check: no binary at $bin" >&2; exit 1; }

run() { # experiment device extra-args...
  local experiment=$1 dev=$2
  shift 2
  local file="$out/$experiment-${dev//:/_}.jsonl"
  echo "== $experiment on $dev" >&2
  local start=$SECONDS
  # Word splitting of the extra arguments is intended.
  "$bin" reproduce "$experiment" --device "$dev" --json "$@" >"$file"
  echo "   $((SECONDS - start)) s" >&2
  [[ -s "$file" ]] || { echo "gpu-check: $experiment on $dev printed no row" >&2; exit 1; }
}

# shellcheck disable=SC2086
run rate flex ${RATE_ARGS:-}
# shellcheck disable=SC2086
run rate "$device" ${RATE_ARGS:-}
# shellcheck disable=SC2086
run sparsity flex ${SPARSITY_ARGS---quick}
# shellcheck disable=SC2086
run sparsity "$device" ${SPARSITY_ARGS---quick}

python3 - "$out" "$device" <<'EOF'
import json, sys, os

out, device = sys.argv[1], sys.argv[2]
tag = device.replace(":", "_")
TOL = 0.02

def rows(name):
    with open(os.path.join(out, name)) as f:
        return [json.loads(line) for line in f if line.strip()]

checks = []  # (quantity, cpu, gpu, tolerance or None for equality)
failures = []

def keyed(rs, key):
    d = {}
    for r in rs:
        k = key(r)
        if k in d:
            failures.append(f"duplicate row {k}")
        d[k] = r
    return d

def compare(label, cpu, gpu, fields):
    if gpu is None:
        failures.append(f"{label}: no such row on {device}")
        return
    for field, tol in fields:
        checks.append((f"{label} {field}", cpu[field], gpu[field], tol))

rate_cpu = keyed(rows("rate-flex.jsonl"), lambda r: (r["method"], r["coef"]))
rate_gpu = keyed(rows(f"rate-{tag}.jsonl"), lambda r: (r["method"], r["coef"]))
if set(rate_cpu) != set(rate_gpu):
    failures.append(f"rate: the runs differ: {sorted(set(rate_cpu) ^ set(rate_gpu))}")
for (method, coef), cpu in sorted(rate_cpu.items()):
    fields = [("class0_rate", TOL), ("accuracy", TOL)]
    if method == "lagrangian":
        fields.append(("feasible", None))
    compare(f"rate {method} c={coef:g}", cpu, rate_gpu.get((method, coef)), fields)

def sparsity_key(r):
    if r["method"] == "constrained":
        return ("constrained", r["target_density"])
    return ("penalty selected", None) if r["selected"] else None

sp_cpu = {k: r for r in rows("sparsity-flex.jsonl") if (k := sparsity_key(r))}
sp_gpu = {k: r for r in rows(f"sparsity-{tag}.jsonl") if (k := sparsity_key(r))}
if not sp_cpu:
    failures.append("sparsity: no constrained or selected row on flex")
for (method, target), cpu in sorted(sp_cpu.items(), key=lambda kv: str(kv[0])):
    label = f"sparsity {method}" + (f" target={target:g}" if target is not None else "")
    compare(label, cpu, sp_gpu.get((method, target)), [("density", TOL), ("test_acc", TOL)])

width = max(len(c[0]) for c in checks) if checks else 10
print(f"{'quantity':{width}}  {'flex':>9}  {device:>9}  {'|diff|':>8}  {'tol':>6}  ok")
for name, cpu, gpu, tol in checks:
    if tol is None:
        ok = cpu == gpu
        diff, tol_s = "", "equal"
        cpu_s, gpu_s = str(cpu), str(gpu)
    else:
        d = abs(cpu - gpu)
        ok = d <= tol
        diff, tol_s = f"{d:.4f}", f"{tol:g}"
        cpu_s, gpu_s = f"{cpu:.4f}", f"{gpu:.4f}"
    print(f"{name:{width}}  {cpu_s:>9}  {gpu_s:>9}  {diff:>8}  {tol_s:>6}  {'yes' if ok else 'NO'}")
    if not ok:
        failures.append(f"{name}: flex {cpu_s}, {device} {gpu_s}")

if failures:
    print(f"\ngpu-check: FAILED ({len(failures)}):", file=sys.stderr)
    for f in failures:
        print(f"  {f}", file=sys.stderr)
    sys.exit(1)
print(f"\ngpu-check: {device} agrees with flex on {len(checks)} numbers")
EOF
