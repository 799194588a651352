#!/usr/bin/env bash
# The suite's offline data sources from Debian's archive (frozenbench/tasks/sources.py):
# Fashion-MNIST, GCIDE and the Go and Rust standard library sources as packages; the R data packages' .deb files (mlbench, kernlab, janeaustenr) and OpenCV's digits.png extracted (no R installed) under
# ${FROZENBENCH_DATA:-~/.cache/frozenbench}/debian, where pyreadr reads their data/*.rda.
# Debian/Ubuntu; run as root or with sudo. Idempotent.
set -euo pipefail
ROOT="${FROZENBENCH_DATA:-$HOME/.cache/frozenbench}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# images; text and code corpora (frozenbench.tasks.sources.CORPORA)
PACKAGES="dataset-fashion-mnist dict-gcide golang-1.19-src rust-src"
missing=""
# installed means "install ok installed": a removed package whose config files remain also
# answers dpkg -s, without its files
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
for pkg in $PACKAGES; do installed "$pkg" || missing="$missing $pkg"; done
if [ -n "$missing" ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
mkdir -p "$ROOT/debian"
for pkg in r-cran-mlbench r-cran-kernlab r-cran-janeaustenr; do
    stamp="$ROOT/debian/.$pkg"
    [ -e "$stamp" ] && continue
    work=$(mktemp -d)
    (cd "$work" && apt-get download -qq "$pkg" 2>/dev/null || \
        { $SUDO apt-get update -qq && apt-get download -qq "$pkg"; })
    dpkg-deb -x "$work"/"$pkg"_*.deb "$ROOT/debian"
    rm -rf "$work"
    touch "$stamp"
done
# OpenCV's digits.png (5,000 digits) from opencv-doc, whose .deb (~96 MB) is not kept
digits="usr/share/doc/opencv-doc/examples/data/digits.png"
if [ ! -e "$ROOT/debian/$digits" ]; then
    work=$(mktemp -d)
    (cd "$work" && apt-get download -qq opencv-doc 2>/dev/null || \
        { $SUDO apt-get update -qq && apt-get download -qq opencv-doc; })
    dpkg-deb --fsys-tarfile "$work"/opencv-doc_*.deb | tar -x -C "$ROOT/debian" "./$digits"
    rm -rf "$work"
fi
# Cora: parquet files inside the graphdatascience wheel, unpacked without its dependencies
if [ ! -e "$ROOT/cora/cora_nodes.parquet.gzip" ]; then
    work=$(mktemp -d)
    "${PYTHON:-python3}" -m pip download --quiet --no-deps --dest "$work" 'graphdatascience==2.2'
    mkdir -p "$ROOT/cora"
    "${PYTHON:-python3}" - "$work"/graphdatascience-*.whl "$ROOT/cora" <<'PY'
import sys, zipfile
from pathlib import Path
wheel, dest = sys.argv[1], Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    for name in ("cora_nodes.parquet.gzip", "cora_rels.parquet.gzip"):
        (dest / name).write_bytes(z.read(f"graphdatascience/resources/cora/{name}"))
PY
    rm -rf "$work"
fi
