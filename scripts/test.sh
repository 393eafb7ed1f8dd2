#!/usr/bin/env bash
# The whole test suite: lint and format check, then unit, conformance, integration against a private Open vSwitch,
# end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
npm run --silent lint
exec npx vitest run "$@"
