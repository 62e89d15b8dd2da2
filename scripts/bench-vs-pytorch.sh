#!/usr/bin/env bash
# Side-by-side benchmark: feasible against PyTorch + Cooper 1.0.1, the same
# workloads timed in one run, interleaved (feasible, PyTorch, feasible, ...).
#
# Usage:
#   scripts/bench-vs-pytorch.sh [--quick] [--threads 1|2|both] [--repeats N] [--only rate,sparsity,fl]
#
#   --quick      1 repeat, rate sweep of 1,000 steps per run, sparsity 5 + 30 steps
#                (default: 3 repeats, 10,000 steps per rate run, sparsity 20 + 200 steps)
#   --threads    threads of the sparsity and Feasible Learning workloads on both
#                sides (default both: 1 then 2); the rate sweep always runs on one
#   --repeats N  interleaved repeats (the table shows medians and every run)
#   --only       a subset of the workloads: rate, sparsity, fl
#
# Environment:
#   FEASIBLE_BENCH_VENV   the Python environment (default target/bench-venv); created
#                         with `python3 -m venv` and given torch and cooper-optim==1.0.1
#                         from PyPI with pip unless both already import
#   FEASIBLE_BENCH_PYTHON the Python that creates it (default python3)
#   FASHION_MNIST_DIR     Fashion-MNIST's IDX files (default: where `feasible data
#                         status` finds them)
#   CARGO_TARGET_DIR      honoured for the release build of the lab
#
# What is compared, the tolerances of the agreement check (the script refuses to
# print times, exit status 3, when the two sides end apart) and what each side
# times: see the header of scripts/bench_vs_pytorch.py. Times are wall-clock
# times of the training loops only; run it on a quiet machine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf 'bench-vs-pytorch: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

venv="${FEASIBLE_BENCH_VENV:-target/bench-venv}"
python_for_venv="${FEASIBLE_BENCH_PYTHON:-python3}"

# 1. The Python environment.
if [[ ! -x "$venv/bin/python" ]]; then
    command -v "$python_for_venv" >/dev/null || die "no $python_for_venv to create $venv with (set FEASIBLE_BENCH_PYTHON)"
    say "creating the Python environment $venv"
    "$python_for_venv" -m venv "$venv" || die "\`$python_for_venv -m venv $venv\` failed (on Debian: apt-get install python3-venv)"
fi
py="$venv/bin/python"
if ! "$py" -c 'import torch, cooper' >/dev/null 2>&1; then
    say "installing torch and cooper-optim==1.0.1 into $venv (PyTorch is a large download)"
    "$py" -m pip install --upgrade pip >&2 || die "pip could not upgrade itself in $venv"
    "$py" -m pip install torch "cooper-optim==1.0.1" >&2 || die "pip could not install torch and cooper-optim==1.0.1"
fi
cooper_version="$("$py" -c 'import importlib.metadata as m; print(m.version("cooper-optim"))' 2>/dev/null || echo unknown)"
[[ "$cooper_version" == "1.0.1" ]] || say "warning: cooper-optim $cooper_version in $venv, the mirror is written for 1.0.1"

# 2. The lab, release build; a private copy of the binary, so that another
# build into the same target directory cannot change it during the run.
command -v cargo >/dev/null || die "cargo is needed to build the lab"
say "building the lab (cargo build --release -p feasible-lab)"
cargo build --release -p feasible-lab >&2 || die "the release build of feasible-lab failed"
target_dir="${CARGO_TARGET_DIR:-target}"
[[ -x "$target_dir/release/feasible" ]] || die "no binary at $target_dir/release/feasible after the build"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$target_dir/release/feasible" "$work/feasible"

# 3. Fashion-MNIST (both sides read the same files).
fashion="${FASHION_MNIST_DIR:-}"
if [[ -z "$fashion" ]]; then
    fashion="$("$work/feasible" data status 2>/dev/null | awk '$1 == "fashion-mnist" && $2 == "present" { print $3 }')"
fi
fashion_args=()
[[ -n "$fashion" ]] && fashion_args=(--fashion-dir "$fashion")

# 4. The benchmark (its exit status is the script's).
"$py" -W ignore::UserWarning "$root/scripts/bench_vs_pytorch.py" --feasible "$work/feasible" "${fashion_args[@]}" "$@"
