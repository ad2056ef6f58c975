#!/bin/sh
# Migrate, then hand the process over to rivalwatch (PID 1 receives SIGTERM directly).
set -eu
if [ "${1:-run}" = "run" ]; then
  rivalwatch db upgrade
fi
exec rivalwatch "$@"
