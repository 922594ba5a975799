#!/usr/bin/env python3
# Wall and CPU time (user + sys of the process and its children, from wait4) of shell commands,
# interleaved N times; medians. CPU time moves far less with the load of a shared machine than wall
# time does (docs/benchmarks.md, "berth exec without node:http").
# Usage: python3 bench/cpu-interleaved.py N label 'command' [label 'command' ...]   (stdin: an empty pipe)
import os, sys, time, statistics, subprocess
n = int(sys.argv[1]); pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
res = {l: ([], []) for l, _ in pairs}
for i in range(n):
    for label, cmd in pairs:
        r, w = os.pipe(); os.close(w)
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.dup2(r, 0); dn = os.open('/dev/null', os.O_WRONLY); os.dup2(dn, 1); os.dup2(dn, 2)
            os.execvp('sh', ['sh', '-c', 'exec ' + cmd])
        _, status, ru = os.wait4(pid, 0)
        wall = (time.perf_counter() - t0) * 1000
        os.close(r)
        if status != 0: print('FAIL', label, status, file=sys.stderr)
        res[label][0].append(wall); res[label][1].append((ru.ru_utime + ru.ru_stime) * 1000)
for label, _ in pairs:
    w, c = res[label]
    print(f'{label:16s} wall {statistics.median(w):7.1f}  cpu {statistics.median(c):6.1f}  (cpu min {min(c):.1f}, n={len(c)})')
