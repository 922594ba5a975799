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
 * that group's id. Args: dir name listenHost listenPort targetHost targetPort serverPgid pythonSource nodeSource
 *
 * One bridge per server, whoever asks: `<dir>/<name>.bridge` records the live bridge ("pid lh lp th
 * tp"), written under a lock (mkdir is atomic), so two Berth processes exposing the same server at
 * once (a CLI and the daemon) get the same bridge instead of the second failing with "Address already
 * in use"; a bridge for another address or target is replaced, not left behind. The bridge also ends
 * by itself when the server's process group is gone, so none outlives its server, whichever process
 * started it.
 */
export const BRIDGE_SCRIPT = `
dir=$1; name=$2; lh=$3; lp=$4; th=$5; tp=$6; server=$7; py=$8; js=$9
(umask 077 && mkdir -p "$dir" && : >> "$dir/$name.bridge.log") || exit 97
lock="$dir/$name.bridge.lock"; i=0
until mkdir "$lock" 2>/dev/null; do
  i=$((i+1)); [ "$i" -gt 50 ] && { rmdir "$lock" 2>/dev/null; i=0; }
  sleep 0.1
done
trap 'rmdir "$lock" 2>/dev/null' EXIT
record="$dir/$name.bridge"
if [ -f "$record" ]; then
  read -r old olh olp oth otp < "$record"
  if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
    [ "$olh $olp $oth $otp" = "$lh $lp $th $tp" ] && { echo "$old"; exit 0; }
    kill -KILL -"$old" 2>/dev/null; j=0
    while kill -0 "$old" 2>/dev/null && [ "$j" -lt 20 ]; do sleep 0.1; j=$((j+1)); done
  fi
  rm -f "$record"
fi
if command -v python3 >/dev/null 2>&1; then set -- python3 -c "$py" "$lh" "$lp" "$th" "$tp" "$server"
elif command -v node >/dev/null 2>&1; then set -- node -e "$js" "$lh" "$lp" "$th" "$tp" "$server"
else echo "berth: the workspace has neither python3 nor node to bridge a loopback-only server" >&2; exit 98; fi
log="$dir/$name.bridge.log"
setsid "$@" > "$log" 2>&1 < /dev/null &
pid=$!; i=0
while [ "$i" -lt 50 ]; do
  grep -q '^ready' "$log" 2>/dev/null && { echo "$pid $lh $lp $th $tp" > "$record"; echo "$pid"; exit 0; }
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1; i=$((i+1))
done
echo "berth: the bridge did not start listening:" >&2; cat "$log" >&2; exit 99
`;

/** A TCP forwarder: listen (argv 1, 2), connect each client to the target (argv 3, 4); ends with the server's group (argv 5). */
export const BRIDGE_PYTHON = `
import os, socket, sys, threading, time
lh, lp, th, tp, server = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
srv = socket.socket(socket.AF_INET6 if ':' in lh else socket.AF_INET)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((lh, lp)); srv.listen(128)
print('ready', flush=True)
def watch():
    while True:
        time.sleep(1)
        try: os.killpg(server, 0)
        except ProcessLookupError: os._exit(0)
        except OSError: pass
threading.Thread(target=watch, daemon=True).start()
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
const net = require('net'); const [lh, lp, th, tp, server] = process.argv.slice(1);
setInterval(() => { try { process.kill(-Number(server), 0); } catch (e) { if (e.code === 'ESRCH') process.exit(0); } }, 1000);
net.createServer((c) => { const u = net.connect(Number(tp), th); c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); }).listen(Number(lp), lh, () => console.log('ready'));
`;

/** Ends the bridge recorded for a server, whoever started it, and the group Berth has on record. Args: dir name [pgid] */
export const STOP_BRIDGE_SCRIPT = `
record="$1/$2.bridge"
[ -n "$3" ] && kill -KILL -"$3" 2>/dev/null
[ -f "$record" ] || exit 0
read -r pid rest < "$record"
[ -n "$pid" ] && kill -KILL -"$pid" 2>/dev/null
rm -f "$record"
true
`;

/** TERM the group, wait up to a grace period, then KILL what is left. Args: pgid graceTenths */
export const STOP_GROUP_SCRIPT = `
kill -TERM -"$1" 2>/dev/null || exit 0
i=0; while kill -0 -"$1" 2>/dev/null && [ "$i" -lt "$2" ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -"$1" 2>/dev/null
true
`;
