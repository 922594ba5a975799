#!/usr/bin/env bash
# Sets up everything the tests need, then runs them: the README's test command, and what CI runs.
#   1. scripts/test-env.sh: podman, a private dockerd and the test image (idempotent, seconds when warm);
#   2. npm ci (when node_modules is missing or stale), build;
#   3. npm test: lint, type check, unit, contract and integration tests against the real engines.
# Engine tests never skip: a missing engine fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# better-sqlite3 builds from source (about a minute) instead of trying to download a prebuilt binary.
export npm_config_build_from_source=true

scripts/test-env.sh
# shellcheck disable=SC1091
. "${BERTH_TEST_STATE:-/var/tmp/berth-test}/env"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build

mkdir -p test-artifacts
npm test -- --reporter=verbose --reporter=json --outputFile.json=test-artifacts/vitest.json

# A skipped test proves nothing; the suite must not quietly skip any.
node -e '
  const r = require("./test-artifacts/vitest.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (skipped > 0 || r.numFailedTests > 0 || r.numPassedTests === 0) process.exit(1);
'
