#!/usr/bin/env bash
# Sets up the real engines Berth's tests run against, and nothing on the machine's own config:
#   - podman with runc, configured through the repo-local config/containers.conf (CONTAINERS_CONF);
#   - a private dockerd on its own socket, data and exec roots under $BERTH_TEST_STATE;
#   - podman's API service on a private socket (BERTH_PODMAN_API), the way Berth finds
#     /run/podman/podman.sock or a user's podman.socket unit on a real machine;
#   - bubblewrap and socat, host mode's sandbox and its relays;
#   - docker-compose and podman-compose, for devcontainer.json compose configs;
#   - Debian's chromium, which the dashboard browser test drives through playwright-core;
#   - the workspace test image, built from Debian packages with debootstrap (no registry needed),
#     imported into both engines. The rootfs tarball is cached under $BERTH_TEST_CACHE.
# Idempotent: a second run finds everything in place and takes seconds.
# Usage: scripts/test-env.sh [up|down|env]   (default: up; env prints the variables to source)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${BERTH_TEST_STATE:-/var/tmp/berth-test}
cache=${BERTH_TEST_CACHE:-/var/cache/berth-test}
image=${BERTH_TEST_IMAGE:-berth-workspace:test}
suite=bookworm
mirror=${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
include=nodejs,git,iproute2,procps,curl,ca-certificates,python3
# Installed with apt inside the rootfs after debootstrap: debootstrap's own resolver cannot
# configure npm's dependencies (virtual packages). npm and pip are clients the egress tests drive;
# iptables is the egress firewall inside Apple container guests (see src/egress/guest-firewall.ts).
apt_extra="npm python3-pip iptables"
packages=(podman runc docker.io tini catatonit debootstrap iproute2 uidmap chromium bubblewrap socat docker-compose podman-compose)
docker_sock="$state/docker.sock"
podman_sock="$state/podman.sock"
env_file="$state/env"
# A loopback address on which the egress DNS test (test/integration/egress-suite.ts) runs its own
# resolver. The test dockerd sees it first in its /etc/resolv.conf, as systemd-resolved's 127.0.0.53
# is on many hosts: docker's embedded resolver forwards to loopback resolvers from the HOST's network
# namespace, the channel an egress workspace must not get. Nothing listens there outside that test,
# so every other lookup falls through to the host's own resolvers listed after it.
dns_probe=127.0.53.1

say() { printf 'test-env: %s\n' "$*" >&2; }
die() { printf 'test-env: error: %s\n' "$*" >&2; exit 1; }

install_packages() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v ip >/dev/null || missing+=(iproute2)
  [ -x /usr/bin/docker-init ] || missing+=(tini)
  [ -x /usr/bin/catatonit ] || missing+=(catatonit)
  # The dashboard browser test drives Debian's chromium through playwright-core.
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # Host mode's sandbox (src/runtime/host/sandbox-policy.ts): bubblewrap makes the namespaces,
  # socat relays the egress proxy and previews across the sandbox's network namespace.
  command -v bwrap >/dev/null || missing+=(bubblewrap)
  command -v socat >/dev/null || missing+=(socat)
  # devcontainer.json compose configs (src/workspace/devcontainer-compose.ts): neither engine here
  # has a `compose` subcommand, so Debian's standalone tools.
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v podman-compose >/dev/null || missing+=(podman-compose)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null \
    || die "missing ${missing[*]}; install them (Debian: apt-get install ${packages[*]}) and run again"
  say "installing ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
}

# Podman's default ulimits are raised above the hard limit, which needs CAP_SYS_RESOURCE.
# Ours must stay at or below what this shell may set, or every container start fails.
check_ulimits() {
  local want_nofile want_nproc
  want_nofile=$(sed -n 's/.*"nofile=\([0-9]*\):.*/\1/p' "$repo/config/containers.conf")
  want_nproc=$(sed -n 's/.*"nproc=\([0-9]*\):.*/\1/p' "$repo/config/containers.conf")
  local hard_nofile hard_nproc
  hard_nofile=$(ulimit -Hn); hard_nproc=$(ulimit -Hu)
  if [ "$hard_nofile" != unlimited ] && [ "$want_nofile" -gt "$hard_nofile" ]; then
    die "config/containers.conf sets nofile=$want_nofile above the hard limit $hard_nofile; lower it"
  fi
  if [ "$hard_nproc" != unlimited ] && [ "$want_nproc" -gt "$hard_nproc" ]; then
    die "config/containers.conf sets nproc=$want_nproc above the hard limit $hard_nproc; lower it"
  fi
}

docker_up() {
  docker -H "unix://$docker_sock" version >/dev/null 2>&1
}

start_dockerd() {
  if docker_up; then return 0; fi
  mkdir -p "$state/docker"
  if [ -f "$state/docker.pid" ] && kill -0 "$(cat "$state/docker.pid")" 2>/dev/null; then
    say "dockerd (pid $(cat "$state/docker.pid")) is running but not answering; restarting it"
    stop_dockerd
  fi
  say "starting a private dockerd on $docker_sock"
  { echo "nameserver $dns_probe"; grep -E '^nameserver ' /etc/resolv.conf || true; } >"$state/resolv.conf"
  # setsid: the daemon must outlive this script and the shell that ran it. Its own mount namespace,
  # in which that file is its /etc/resolv.conf: docker 20.10 has no flag for it (`resolv-conf` in
  # daemon.json is refused as an unknown directive), and the machine's own file is never touched.
  # From /: a daemon keeps its starter's folder as its own, and a clone deleted after the run (CI
  # rehearsals are) would leave it in a folder that is gone.
  (cd / && exec setsid unshare --mount --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh "$state/resolv.conf" dockerd \
    --host "unix://$docker_sock" \
    --data-root "$state/docker/data" \
    --exec-root "$state/docker/exec" \
    --pidfile "$state/docker.pid" \
    --default-ulimit nofile=10240:10240 \
    --log-level warn \
    </dev/null >"$state/dockerd.log" 2>&1) &
  wait_for docker_up 60 "dockerd did not answer on $docker_sock" "$state/dockerd.log"
}

# Usage: wait_for CHECK SECONDS WHAT LOG — polls CHECK every 0.5 s; on timeout shows the log and dies.
wait_for() {
  local check=$1 seconds=$2 what=$3 log=$4
  for _ in $(seq 1 $((seconds * 2))); do
    "$check" && return 0
    sleep 0.5
  done
  tail -20 "$log" >&2 || true
  die "$what within $seconds s (log: $log)"
}

stop_dockerd() {
  [ -f "$state/docker.pid" ] || return 0
  local pid; pid=$(cat "$state/docker.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$state/docker.pid"
}

podman_service_up() {
  podman --remote --url "unix://$podman_sock" version >/dev/null 2>&1
}

# Whether process $1 works in a folder that has been deleted since it started.
cwd_gone() {
  case "$(readlink "/proc/$1/cwd" 2>/dev/null)" in *" (deleted)") return 0 ;; esac
  return 1
}

start_podman_service() {
  # A service started from a folder deleted since answers `version` but cannot start a container:
  # conmon fails to read its working folder ("write child: broken pipe"). Started again, from /.
  if podman_service_up && ! { [ -f "$state/podman-service.pid" ] && cwd_gone "$(cat "$state/podman-service.pid")"; }; then return 0; fi
  stop_podman_service
  say "starting podman's API service on $podman_sock"
  # --time=0: no idle timeout; it lives as long as the private dockerd does.
  (cd / && exec setsid podman system service --time=0 "unix://$podman_sock" </dev/null >"$state/podman-service.log" 2>&1) &
  echo $! >"$state/podman-service.pid"
  wait_for podman_service_up 30 "podman system service did not answer on $podman_sock" "$state/podman-service.log"
}

stop_podman_service() {
  [ -f "$state/podman-service.pid" ] || return 0
  kill "$(cat "$state/podman-service.pid")" 2>/dev/null || true
  rm -f "$state/podman-service.pid" "$podman_sock"
}

# The rootfs is keyed by what goes into it, so changing the package list rebuilds it.
rootfs_key() { printf '%s %s %s %s' "$suite" "$include" "$apt_extra" "v1" | sha256sum | cut -c1-12; }

build_rootfs() {
  local key tarball
  key=$(rootfs_key)
  tarball="$cache/workspace-rootfs-$key.tar"
  if [ -s "$tarball" ]; then echo "$tarball"; return 0; fi
  mkdir -p "$cache"
  local dir="$cache/rootfs-$key.partial"
  rm -rf "$dir"
  say "building the workspace rootfs with debootstrap ($include); about a minute"
  debootstrap --variant=minbase --include="$include" "$suite" "$dir" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; die "debootstrap failed (log: $cache/debootstrap.log)"; }
  say "installing $apt_extra into the rootfs with apt"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  # shellcheck disable=SC2086  # apt_extra is a list of package names
  chroot "$dir" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $apt_extra" \
    >"$cache/apt-extra.log" 2>&1 || { tail -20 "$cache/apt-extra.log" >&2; die "apt-get install $apt_extra failed (log: $cache/apt-extra.log)"; }
  rm -f "$dir/etc/resolv.conf"
  # What a workspace never needs: package caches, docs, manuals, translations.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
    "$dir"/usr/share/doc "$dir"/usr/share/man "$dir"/usr/share/locale "$dir"/usr/share/info
  tar -C "$dir" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  rm -rf "$dir"
  echo "$tarball"
}

# Imports the rootfs unless the engine already holds an image made from this very tarball.
# Usage: import_image TARBALL ENGINE-COMMAND...
import_image() {
  local tarball=$1; shift
  local key have
  key=$(rootfs_key)
  have=$("$@" image inspect --format '{{ index .Config.Labels "dev.berth.test-rootfs" }}' "$image" 2>/dev/null || true)
  if [ "$have" = "$key" ]; then return 0; fi
  say "importing $image into $1"
  "$@" import \
    --change "LABEL dev.berth.test-rootfs=$key" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /' \
    "$tarball" "$image" >/dev/null
}

write_env() {
  mkdir -p "$state"
  cat >"$env_file" <<VARS
export DOCKER_HOST=unix://$docker_sock
export CONTAINERS_CONF=$repo/config/containers.conf
export BERTH_TEST_IMAGE=$image
export BERTH_PODMAN_API=$podman_sock
export BERTH_TEST_DNS_PROBE=$dns_probe
VARS
}

# Host mode's sandbox needs user, mount, pid, ipc, uts and network namespaces: said now, not as
# twenty failing tests (some unprivileged containers and hardened kernels refuse them).
check_sandbox() {
  bwrap --unshare-all --die-with-parent --new-session --ro-bind / / true 2>/dev/null \
    || say "warning: bwrap cannot create namespaces here; the sandboxed host-mode tests will fail"
}

up() {
  install_packages
  check_ulimits
  check_sandbox
  mkdir -p "$state"
  write_env
  export CONTAINERS_CONF="$repo/config/containers.conf"
  start_dockerd
  start_podman_service
  local tarball; tarball=$(build_rootfs)
  import_image "$tarball" podman
  import_image "$tarball" docker -H "unix://$docker_sock"
  say "ready; source $env_file for DOCKER_HOST, CONTAINERS_CONF, BERTH_TEST_IMAGE and BERTH_PODMAN_API"
}

case "${1:-up}" in
  up) up ;;
  down) stop_podman_service; stop_dockerd ;;
  env) write_env; cat "$env_file" ;;
  *) die "usage: scripts/test-env.sh [up|down|env]" ;;
esac
