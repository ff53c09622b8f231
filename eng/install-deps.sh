#!/usr/bin/env bash
# Installs the native libraries Salient loads at run time, when they are missing:
# OpenBLAS (GEMM), libjpeg-turbo (JPEG) and libspng (PNG), and Chromium for the dashboard's
# browser test; with --fashion-mnist also Debian's dataset-fashion-mnist and jq (for the training
# and study scripts). Debian/Ubuntu only; idempotent.
set -euo pipefail

packages=()
# grep reads all of ldconfig's output: with -q it could quit early, and pipefail would then see ldconfig's SIGPIPE as a failure.
have_lib() { ldconfig -p 2>/dev/null | grep "$1" >/dev/null; }
have_lib 'libopenblas\.so\.0' || packages+=(libopenblas0)
have_lib 'libturbojpeg\.so\.0' || packages+=(libturbojpeg0)
have_lib 'libspng\.so\.0' || packages+=(libspng0)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || packages+=(chromium)
if [ "${1:-}" = --fashion-mnist ]; then
  [ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
  command -v jq >/dev/null || packages+=(jq)
fi

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${packages[*]}" >&2; exit 1; }
  sudo="sudo"
fi

echo "install-deps: installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
