#!/usr/bin/env bash
# The README's first command: install, build, check the machine, bring up the example workspace and
# run a command in it. Uses docker or podman when one answers and has the workspace image (building
# it from images/workspace when it can); otherwise falls back to host mode and says so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# better-sqlite3 builds from source (about a minute) instead of trying to download a prebuilt binary.
export npm_config_build_from_source=true

[ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
npm run build --silent
berth() { node dist/cli/main.js "$@"; }

echo "== berth doctor"
berth doctor || true

image=${BERTH_IMAGE:-berth-workspace:latest}
runtime=$(berth doctor --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).runtime?.kind ?? "host"))')
if [ "$runtime" = docker ] || [ "$runtime" = podman ]; then
  if ! "$runtime" image inspect "$image" >/dev/null 2>&1; then
    echo "== building $image with $runtime (needs a registry for the base image)"
    if ! "$runtime" build -t "$image" images/workspace; then
      echo "!! could not build $image; falling back to host mode (no isolation)"
      runtime=host
    fi
  fi
fi

# Host mode runs sandboxed (bubblewrap): install it where we may, else say loudly what runs unconfined.
unconfined=()
if [ "$runtime" = host ] && [ "$(uname -s)" = Linux ] && ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "== installing bubblewrap and socat (host mode's sandbox)"
    (apt-get install -y -qq bubblewrap socat >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq bubblewrap socat >/dev/null; }) || true
  fi
fi
if [ "$runtime" = host ] && ! bwrap --unshare-all --die-with-parent --new-session --ro-bind / / true 2>/dev/null; then
  echo "!! no sandbox for host mode here (install bubblewrap, allow user namespaces): the example runs UNCONFINED"
  unconfined=(--unconfined)
fi

echo "== berth up example (runtime: $runtime)"
berth up example --runtime "$runtime" --image "$image" --root examples/hello "${unconfined[@]}"
echo "== berth exec example -- node hello.mjs"
berth exec example --runtime "$runtime" -- node hello.mjs
echo "== berth ls"
berth ls --runtime "$runtime"
