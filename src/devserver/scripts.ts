/*
 * Shell run inside the workspace (or on the host in host mode) through one exec each, with every
 * value passed as a positional argument: nothing from the user is ever spliced into script text.
 */

/**
 * Starts a command in its own session and process group (setsid), its output in `<dir>/<name>.log`.
 * A small sh wraps it to write the exit status to `<dir>/<name>.exit` when it ends by itself: that is
 * how a crash is told from a stop (a stop kills the wrapper too, so no status is written).
 * Prints the process group id. Args: dir name cwd command...
 */
export const LAUNCH_SCRIPT = `
dir=$1; name=$2; cwd=$3; shift 3
command -v setsid >/dev/null 2>&1 || { echo "berth: setsid is missing in this workspace (util-linux or busybox provides it)" >&2; exit 95; }
(umask 077 && mkdir -p "$dir" && : >> "$dir/$name.log") || exit 97
rm -f "$dir/$name.exit"
cd "$cwd" || { echo "berth: no folder $cwd in the workspace" >&2; exit 96; }
setsid sh -c '"$@"; s=$?; umask 077; echo $s > "$0"' "$dir/$name.exit" "$@" > "$dir/$name.log" 2>&1 < /dev/null &
echo $!
`;

/**
 * Bridges a listen address to a target address with whichever of python3 or node the workspace has,
 * in its own process group, and returns once it listens (so the URL works when handed out); prints
 * that group's id. Args: dir name listenHost listenPort targetHost targetPort pythonSource nodeSource
 */
export const BRIDGE_SCRIPT = `
dir=$1; name=$2; lh=$3; lp=$4; th=$5; tp=$6; py=$7; js=$8
(umask 077 && mkdir -p "$dir" && : >> "$dir/$name.bridge.log") || exit 97
if command -v python3 >/dev/null 2>&1; then set -- python3 -c "$py" "$lh" "$lp" "$th" "$tp"
elif command -v node >/dev/null 2>&1; then set -- node -e "$js" "$lh" "$lp" "$th" "$tp"
else echo "berth: the workspace has neither python3 nor node to bridge a loopback-only server" >&2; exit 98; fi
log="$dir/$name.bridge.log"
setsid "$@" > "$log" 2>&1 < /dev/null &
pid=$!; i=0
while [ "$i" -lt 50 ]; do
  grep -q '^ready' "$log" 2>/dev/null && { echo "$pid"; exit 0; }
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1; i=$((i+1))
done
echo "berth: the bridge did not start listening:" >&2; cat "$log" >&2; exit 99
`;

/** A TCP forwarder: listen (argv 1, 2), connect each client to the target (argv 3, 4). */
export const BRIDGE_PYTHON = `
import socket, sys, threading
lh, lp, th, tp = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
srv = socket.socket(socket.AF_INET6 if ':' in lh else socket.AF_INET)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((lh, lp)); srv.listen(128)
print('ready', flush=True)
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    try: b.shutdown(socket.SHUT_WR)
    except OSError: pass
def serve(c):
    try: u = socket.create_connection((th, tp))
    except OSError:
        c.close(); return
    t = threading.Thread(target=pump, args=(u, c), daemon=True); t.start()
    pump(c, u); t.join(); c.close(); u.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

export const BRIDGE_NODE = `
const net = require('net'); const [lh, lp, th, tp] = process.argv.slice(1);
net.createServer((c) => { const u = net.connect(Number(tp), th); c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); }).listen(Number(lp), lh, () => console.log('ready'));
`;

/** TERM the group, wait up to a grace period, then KILL what is left. Args: pgid graceTenths */
export const STOP_GROUP_SCRIPT = `
kill -TERM -"$1" 2>/dev/null || exit 0
i=0; while kill -0 -"$1" 2>/dev/null && [ "$i" -lt "$2" ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -"$1" 2>/dev/null
true
`;
