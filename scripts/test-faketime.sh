#!/usr/bin/env bash
# Run the test suite with the machine's date faked by libfaketime, so that a test that reads
# today's date instead of setting its clock fails. The faked date reaches every process the
# tests start (workers, schedulers, the petiflow command): LD_PRELOAD and FAKETIME are inherited.
#
#   scripts/test-faketime.sh 'YYYY-MM-DD HH:MM:SS' [pytest arguments]   (the moment is UTC)
#
# Time runs on from that moment at the normal pace, the same in every process (an offset from
# the real time); the monotonic clock stays real. Installs Debian's faketime package if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

at=${1:?"usage: $0 'YYYY-MM-DD HH:MM:SS' [pytest arguments]"}
shift

find_lib() {
  for candidate in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
    if [ -e "$candidate" ]; then echo "$candidate"; return; fi
  done
}
lib=$(find_lib)
if [ -z "$lib" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing faketime (libfaketime)"
  $sudo apt-get install -y -qq faketime >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq faketime >/dev/null; }
  lib=$(find_lib)
fi
[ -n "$lib" ] || { echo "libfaketime is not installed and could not be installed" >&2; exit 1; }

target=$(date -u -d "$at" +%s) || { echo "not a date: $at" >&2; exit 1; }
offset=$(( target - $(date -u +%s) ))
[ "$offset" -ge 0 ] && offset="+$offset"

export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
export FAKETIME="$offset" DONT_FAKE_MONOTONIC=1
export PYTHONPATH="$PWD/scripts/faketime${PYTHONPATH:+:$PYTHONPATH}"
echo "faked date: $(date -u '+%Y-%m-%d %H:%M:%S UTC (%A)') (FAKETIME=$FAKETIME)"
exec .venv/bin/python -m pytest "$@"
