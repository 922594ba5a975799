import { EXEC_MARKER, MARKED_FUNCTION } from './exec-cancel.js';

/*
 * The POSIX sh that keeps a spawned process in the workspace (inside the container, or on the host
 * in host mode), so that it, its output and its exit status outlive the exec that started it and
 * the Berth process that asked: a new Berth finds them all in the process's folder. Every value is
 * a positional argument: nothing from the caller is ever spliced into script text.
 *
 * One folder per process, `<base>/<id>/` (0700, files 0600):
 *   meta          one line of JSON (argv, cwd, user, ringBytes, startedAt) written at launch
 *   supervisor    the supervisor's pid;  pid: the command's (it leads its own process group)
 *   in            a FIFO: the command's stdin, held open by a keeper until it is closed on request
 *   out.<offset>  stdout's ring: segments of at most ringBytes/2 bytes, named by the absolute offset
 *                 of their first byte; the two newest are kept. out.end: bytes written so far.
 *                 out.eof: the command's stdout reached its end. (err.* likewise for stderr.)
 *   status        "<exit status> <signal name>" once the command ended (128+n for signal n, as sh says)
 */

/**
 * Makes the process's folder and starts the supervisor in a session of its own, then returns (the
 * supervisor outlives this exec). Prints the supervisor's pid. Exits 94 when the command is not in
 * the workspace, 95 when a tool is missing, 97 when the folder cannot be made.
 * Args: base baseMode id half chunk meta keepEnded supervisorScript command...
 */
export const LAUNCH_SCRIPT = `
base=$1; mode=$2; id=$3; half=$4; chunk=$5; meta=$6; keep=$7; supervise=$8; shift 8
for tool in setsid mkfifo dd; do
  command -v "$tool" >/dev/null 2>&1 || { echo "berth: $tool is missing in this workspace (coreutils, util-linux or busybox provides it)" >&2; exit 95; }
done
command -v -- "$1" >/dev/null 2>&1 || { echo "berth: no command $1 in the workspace (or not executable)" >&2; exit 94; }
[ -d "$base" ] || { mkdir -p "$base" && chmod "$mode" "$base"; } 2>/dev/null
umask 077
d=$base/$id
mkdir "$d" && printf '%s\\n' "$meta" > "$d/meta" && mkfifo "$d/in" "$d/out.pipe" "$d/err.pipe" || { echo "berth: cannot make $d" >&2; exit 97; }
# Ended processes beyond the newest $keep go (running ones and half-made folders stay).
n=0
for old in $(ls -dt -- "$base"/*/ 2>/dev/null); do
  old=\${old%/}
  [ "$old" != "$d" ] && [ -f "$old/supervisor" ] || continue
  if [ ! -f "$old/status" ]; then
    read -r p 2>/dev/null < "$old/supervisor" && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && continue
  fi
  n=$((n + 1))
  [ "$n" -gt "$keep" ] && rm -rf -- "$old"
done
setsid sh -c "$supervise" sh "$d" "$half" "$chunk" "$id" "$@" < /dev/null > /dev/null 2>&1 &
echo "$!" > "$d/supervisor"
echo "$!"
`;

/**
 * The supervisor: copies the command's stdout and stderr into their rings, keeps its stdin FIFO open
 * (a keeper) until a close is asked, waits for it and writes its status, then stays until its
 * output ends (a child in the background may hold it). The command carries the
 * exec marker (its id) and leads its own process group: kill() finds it and every child either way.
 * Segments are at most `half` bytes and `dd` reads at most `chunk` (≤ half) at a time, so a ring
 * holds at most 2 × half bytes. Args: dir half chunk id command...
 */
export const SUPERVISE_SCRIPT = `
d=$1; half=$2; chunk=$3; id=$4; shift 4
ring() {
  total=0; size=0; seg=$d/$1.0; prev=
  : > "$seg"; echo 0 > "$d/$1.end"
  while :; do
    if [ $((size + chunk)) -gt "$half" ]; then
      [ -z "$prev" ] || rm -f "$prev"
      prev=$seg; seg=$d/$1.$total; size=0; : > "$seg"
    fi
    dd bs="$chunk" count=1 2>/dev/null >> "$seg"
    z=$(($(wc -c < "$seg")))
    [ "$z" -gt "$size" ] || break
    total=$((total + z - size)); size=$z
    echo "$total" > "$d/$1.end"
  done
  : > "$d/$1.eof"
}
ring out < "$d/out.pipe" &
rings=$!
ring err < "$d/err.pipe" &
rings="$rings $!"
tail -f /dev/null 1<> "$d/in" &
keeper=$!
echo "$keeper" > "$d/keeper"
(${EXEC_MARKER}=$id; export ${EXEC_MARKER}; exec setsid "$@") < "$d/in" > "$d/out.pipe" 2> "$d/err.pipe" &
cmd=$!
echo "$cmd" > "$d/pid"
wait "$cmd"
st=$?
kill "$keeper" 2>/dev/null
# Stdin written from now on goes nowhere, rather than filling the FIFO and blocking its writer.
cat 0<> "$d/in" > /dev/null &
drain=$!
sig=
[ "$st" -gt 128 ] && sig=$(kill -l "$((st - 128))" 2>/dev/null)
echo "$st $sig" > "$d/status.new" && mv -f "$d/status.new" "$d/status"
wait $rings
kill "$drain" 2>/dev/null
`;

/**
 * Follows a process: its rings from the given absolute offsets, then what comes, as frames on
 * stdout (nothing else is written there):
 *   `o <n>\\n` + n bytes of stdout, `e <n>\\n` + n bytes of stderr,
 *   `g o|e <offset>\\n`: bytes before offset were dropped from the ring before they were read,
 *   `x <status> <signal>\\n` once the command ended and its output is drained, `x -\\n` when its
 *   supervisor is gone without a status (the workspace restarted).
 * A segment is opened before its frame header is written, so a rotation cannot shorten a frame.
 * It polls (every 20 ms for a second after output, then every 100 ms) and ends by itself after
 * `idlePolls` polls without output or `maxBytes` sent: the caller starts another where it stopped,
 * so a follower whose reader went away (the app quit) does not linger. Exits 94 when the process's
 * folder is gone. Args: dir outOffset errOffset idlePolls maxBytes
 */
export const FOLLOW_SCRIPT = `
d=$1; out_at=$2; err_at=$3; idle_max=$4; budget=$5
exec 3>&1 1>/dev/null
[ -f "$d/meta" ] || { echo "berth: no process folder $d" >&2; exit 94; }
sup=
read -r sup 2>/dev/null < "$d/supervisor"
# A pid from before a workspace restart may be someone else's now.
[ -n "$sup" ] && [ -r "/proc/$sup/cmdline" ] && { grep -qF -- "$d" "/proc/$sup/cmdline" 2>/dev/null || sup=; }
alive() { [ -n "$sup" ] && kill -0 "$sup" 2>/dev/null; }
pump() {
  eval "at=\\$$1_at"
  end=
  read -r end 2>/dev/null < "$d/$1.end"
  case $end in ''|*[!0-9]*) return 1 ;; esac
  [ "$end" -gt "$at" ] || return 1
  start=; next=; low=
  for f in "$d/$1".[0-9]*; do
    n=\${f##*.}
    case $n in ''|*[!0-9]*) continue ;; esac
    { [ -z "$low" ] || [ "$n" -lt "$low" ]; } && low=$n
    if [ "$n" -le "$at" ]; then
      { [ -z "$start" ] || [ "$n" -gt "$start" ]; } && start=$n
    else
      { [ -z "$next" ] || [ "$n" -lt "$next" ]; } && next=$n
    fi
  done
  if [ -z "$start" ]; then
    [ -n "$low" ] || return 1
    start=$low; next=; at=$low
    printf 'g %s %s\\n' "$2" "$at" >&3
    eval "$1_at=\\$at"
    return 0
  fi
  n=$((\${next:-$end} - at))
  [ "$n" -gt "$((end - at))" ] && n=$((end - at))
  [ "$n" -gt 0 ] || return 1
  { printf '%s %s\\n' "$2" "$n" >&3; tail -c +$((at - start + 1)) <&4 | head -c "$n" >&3; } 4< "$d/$1.$start" 2>/dev/null || return 1
  at=$((at + n)); sent=$((sent + n))
  eval "$1_at=\\$at"
  return 0
}
idle=0; sent=0; after=0
while :; do
  ended=
  [ -f "$d/status" ] && [ -f "$d/out.eof" ] && [ -f "$d/err.eof" ] && ended=1
  gone=
  [ -f "$d/status" ] || alive || gone=1
  moved=
  pump out o && moved=1
  pump err e && moved=1
  if [ -n "$moved" ]; then
    idle=0
    [ "$sent" -lt "$budget" ] || exit 0
    continue
  fi
  # Ended and drained; or ended a while ago (polls counted from the status, not from the last
  # output: the rings may still be writing the last bytes) with a child in the background holding its output.
  [ -f "$d/status" ] && after=$((after + 1))
  if [ -n "$ended" ] || [ "$after" -gt 50 ]; then
    st=; sig=
    read -r st sig 2>/dev/null < "$d/status"
    printf 'x %s %s\\n' "\${st:--}" "$sig" >&3
    exit 0
  fi
  [ -z "$gone" ] || { [ -f "$d/status" ] || { printf 'x -\\n' >&3; exit 0; }; }
  idle=$((idle + 1))
  [ "$idle" -lt "$idle_max" ] || exit 0
  if [ "$idle" -lt 50 ]; then sleep 0.02; else sleep 0.1; fi
done
`;

/**
 * Writes this exec's stdin to the process's stdin. The FIFO is opened read-write, which never
 * blocks on Linux (a write-only open would wait for a reader). Exits 3 when the process has ended
 * or its stdin was closed: nothing would read. Args: dir
 */
export const WRITE_SCRIPT = `
d=$1
[ -p "$d/in" ] && [ ! -f "$d/status" ] && [ ! -f "$d/stdin.closed" ] || exit 3
exec cat 1<> "$d/in"
`;

/** Closes the process's stdin: its keeper ends, so the command reads end of file. Args: dir */
export const CLOSE_STDIN_SCRIPT = `
d=$1
: > "$d/stdin.closed"
k=
read -r k 2>/dev/null < "$d/keeper"
[ -z "$k" ] || kill "$k" 2>/dev/null
true
`;

/**
 * Ends a process: the signal to its process group and to every process carrying its marker (a
 * child that left the group), then, after the grace, KILL to whatever is left of either. Right
 * after a launch the command may not lead its group yet: it is then signalled by pid. Its pid and
 * group are used only while its supervisor still runs it; after that, the marker alone (a pid
 * read later may be someone else's). Args: dir signal graceTenths
 */
export const KILL_SCRIPT = `
d=$1; sig=$2
m="${EXEC_MARKER}=\${d##*/}"
${MARKED_FUNCTION}
sup=
read -r sup 2>/dev/null < "$d/supervisor"
supervised() { [ -n "$sup" ] && kill -0 "$sup" 2>/dev/null && { [ ! -r "/proc/$sup/cmdline" ] || grep -qF -- "$d" "/proc/$sup/cmdline" 2>/dev/null; }; }
i=0
while [ ! -f "$d/pid" ] && [ ! -f "$d/status" ] && [ "$i" -lt 50 ] && supervised; do sleep 0.1; i=$((i + 1)); done
# Its pid and group are trusted only while its supervisor runs it: an older number may be someone else's.
pg=
if [ ! -f "$d/status" ] && supervised; then
  read -r pg 2>/dev/null < "$d/pid"
  case $pg in ''|*[!0-9]*) pg= ;; esac
fi
command_alive() { [ -n "$pg" ] && [ ! -f "$d/status" ] && kill -0 "$pg" 2>/dev/null; }
group_alive() { [ -n "$pg" ] && kill -0 -"$pg" 2>/dev/null; }
signal() {
  [ -z "$pg" ] || kill -"$1" -"$pg" 2>/dev/null || { command_alive && kill -"$1" "$pg" 2>/dev/null; }
  pids=$(marked)
  [ -z "$pids" ] || kill -"$1" $pids 2>/dev/null
}
signal "$sig"
i=0
while [ "$i" -lt "$3" ]; do
  ! group_alive && ! command_alive && [ -z "$(marked)" ] && exit 0
  sleep 0.1
  i=$((i + 1))
done
signal KILL
exit 0
`;

/**
 * Lists the processes under a base folder, one line each: `<id>\\t<state>\\t<status> <signal>\\t<meta>`,
 * state `running`, `ended` or `gone` (no status and no supervisor: the workspace restarted). Args: base
 */
export const LIST_SCRIPT = `
base=$1
[ -d "$base" ] || exit 0
for d in "$base"/*; do
  [ -f "$d/meta" ] && [ -f "$d/supervisor" ] || continue
  meta=; st=; sig=; state=running
  read -r meta 2>/dev/null < "$d/meta"
  if [ -f "$d/status" ]; then
    state=ended
    read -r st sig 2>/dev/null < "$d/status"
  else
    p=
    read -r p 2>/dev/null < "$d/supervisor"
    { [ -n "$p" ] && kill -0 "$p" 2>/dev/null && { [ ! -r "/proc/$p/cmdline" ] || grep -qF -- "$d" "/proc/$p/cmdline" 2>/dev/null; }; } || state=gone
  fi
  printf '%s\\t%s\\t%s %s\\t%s\\n' "\${d##*/}" "$state" "$st" "$sig" "$meta"
done
`;
