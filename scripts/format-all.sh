#!/usr/bin/env bash
# Formats every TypeScript/JavaScript source with Prettier, then runs the lint and format check. Run once after
# the branches written before the formatter existed are merged, and commit the result as a formatting-only commit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
npm run --silent format >/dev/null
npm run --silent lint
git diff --stat | tail -n 1
