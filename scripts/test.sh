#!/usr/bin/env bash
# The whole test suite: unit, conformance, integration against a private Open vSwitch, end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
exec npx vitest run "$@"
