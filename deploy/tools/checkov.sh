#!/usr/bin/env sh
# checkov (IaC scanner) in its own virtualenv: its dependency tree (boto3, networkx, ...) pins
# versions that conflict with the project's, so it never goes into .venv itself.
#
#   deploy/tools/checkov.sh install     # build $CHECKOV_VENV (default .venv/checkov) once, from PyPI
#   deploy/tools/checkov.sh [ARGS...]   # run checkov on deploy/ (or with ARGS)
#
# Offline-safe: without the venv, "run" exits 3 with one line (tests/deploy skip on it, saying so);
# "install" fails with pip's message when PyPI cannot be reached. Nothing is fetched at run time:
# the run passes --skip-download (no policy download, no API key, no telemetry).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
venv=${CHECKOV_VENV:-$here/.venv/checkov}
version=3.3.30

if [ "${1:-}" = "install" ]; then
  if [ -x "$venv/bin/checkov" ] && "$venv/bin/checkov" --version 2>/dev/null | grep -qx "$version"; then
    echo "checkov $version already in $venv"; exit 0
  fi
  python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$version"
  echo "checkov $("$venv/bin/checkov" --version) installed in $venv"
  exit 0
fi

if [ ! -x "$venv/bin/checkov" ]; then
  echo "checkov: not installed in $venv (run: deploy/tools/checkov.sh install)" >&2
  exit 3
fi
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
if [ $# -eq 0 ]; then
  set -- --directory "$here/deploy" --framework kubernetes dockerfile secrets
fi
exec "$venv/bin/checkov" --skip-download --quiet --compact "$@"
