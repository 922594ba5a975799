import { describe, expect, it } from 'vitest';
import { groupAlive, isLoopback, parseScan, portsOfGroup } from '../../src/devserver/scan.js';

/** Output of SCAN_SCRIPT as real images print it: with ss, and without (the /proc fallback). */
const WITH_SS = `#ss
LISTEN 0      5            0.0.0.0:8000       0.0.0.0:*    users:(("python3",pid=25,fd=3))
LISTEN 0      511        127.0.0.1:5173       0.0.0.0:*    users:(("node",pid=40,fd=22))
LISTEN 0      511             [::]:9229          [::]:*    users:(("node",pid=41,fd=20))
LISTEN 0      128                *:3000             *:*
#stat
1 S 1
25 S 25
40 S 38
41 S 38
77 Z 38
#exit
flaky 3
done 0
`;

/** /proc/net/tcp{,6}: 0.0.0.0:8000 and 127.0.0.1:5173 listening (0A), one established (01), ::1:9229 on tcp6. */
const WITHOUT_SS = `#ss
#tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1435 0100007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0000000000000000 100 0 0 10 0
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:2405 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
#fds
25 1111
40 2222
41 4444
#stat
25 S 25
40 S 38
41 S 38
#exit
`;

describe('dev server scan output', () => {
  it('reads ss: addresses (IPv4, IPv6, wildcard), ports and owning pids', () => {
    const scan = parseScan(WITH_SS);
    expect(scan.listeners).toEqual([
      { address: '0.0.0.0', port: 8000, pids: [25] },
      { address: '127.0.0.1', port: 5173, pids: [40] },
      { address: '::', port: 9229, pids: [41] },
      { address: '0.0.0.0', port: 3000, pids: [] },
    ]);
    expect(scan.exits).toEqual(new Map([['flaky', 3], ['done', 0]]));
  });

  it('reads the /proc fallback: hex addresses, LISTEN only, inodes mapped to pids', () => {
    expect(parseScan(WITHOUT_SS).listeners).toEqual([
      { address: '0.0.0.0', port: 8000, pids: [25] },
      { address: '127.0.0.1', port: 5173, pids: [40] },
      { address: '::1', port: 9221, pids: [41] },
    ]);
  });

  it('attributes ports to process groups, lowest first, and ignores zombies', () => {
    for (const scan of [parseScan(WITH_SS), parseScan(WITHOUT_SS)]) {
      expect(portsOfGroup(scan, 25).map((l) => l.port)).toEqual([8000]);
      expect(groupAlive(scan, 38)).toBe(true);
      expect(groupAlive(scan, 99)).toBe(false);
    }
    expect(portsOfGroup(parseScan(WITH_SS), 38).map((l) => l.port)).toEqual([5173, 9229]);
    expect(portsOfGroup(parseScan(WITHOUT_SS), 38).map((l) => l.port)).toEqual([5173, 9221]);
    // pid 77 is a zombie of group 38: not a live process.
    expect(parseScan(WITH_SS).groups.has(77)).toBe(false);
  });

  it('knows loopback binds, which need a bridge', () => {
    expect(['127.0.0.1', '127.0.1.1', '::1'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.88.0.5'].some(isLoopback)).toBe(false);
  });
});

describe('scanComplete', () => {
  it('takes only a scan that ran to its end: a scan killed with its workspace proves nothing', async () => {
    const { scanComplete } = await import('../../src/devserver/scan.js');
    expect(scanComplete(0, '#ss\n#stat\n1 1 1\n#exit\n#end\n')).toBe(true);
    expect(scanComplete(0, '#ss\n#stat\n1 1 1\n#exit\n#end')).toBe(true);
    // Cut short by a `docker stop`: partial output, killed (137), or no end marker.
    expect(scanComplete(137, '#ss\n#stat\n')).toBe(false);
    expect(scanComplete(0, '#ss\n#stat\n1 1 1\n')).toBe(false);
    expect(scanComplete(0, '')).toBe(false);
  });
});
