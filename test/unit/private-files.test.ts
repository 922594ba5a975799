import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditHome, ensurePrivateHome, writePrivateFile } from '../../src/state/private-files.js';

const scratch = mkdtempSync(join(tmpdir(), 'berth-private-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const mode = (path: string): number => statSync(path).mode & 0o777;

/** A home as an older Berth (or a user) left it: loose, with Berth's files and someone else's. */
function looseHome(name: string): string {
  const home = join(scratch, name);
  mkdirSync(join(home, 'workspaces', 'w'), { recursive: true });
  writeFileSync(join(home, 'state.db'), '');
  writeFileSync(join(home, 'workspaces', 'w', 'profile.sh'), '');
  writeFileSync(join(home, 'notes.txt'), 'not Berth\'s');
  for (const [path, m] of [[home, 0o755], [join(home, 'workspaces'), 0o755], [join(home, 'workspaces', 'w'), 0o755], [join(home, 'state.db'), 0o644], [join(home, 'workspaces', 'w', 'profile.sh'), 0o644], [join(home, 'notes.txt'), 0o644]] as const) chmodSync(path, m);
  return home;
}

describe('private files under $BERTH_HOME', () => {
  it('tightens what Berth owns in a loose home, and only that', () => {
    const home = looseHome('loose');
    ensurePrivateHome(home);
    expect([mode(home), mode(join(home, 'workspaces')), mode(join(home, 'workspaces', 'w'))]).toEqual([0o700, 0o700, 0o700]);
    expect([mode(join(home, 'state.db')), mode(join(home, 'workspaces', 'w', 'profile.sh'))]).toEqual([0o600, 0o600]);
    expect(mode(join(home, 'notes.txt'))).toBe(0o644);
    expect(auditHome(home, false)).toEqual([]);
  });

  it('walks the owned folders on open only when the home was loose; doctor (all) always does', () => {
    const home = looseHome('tight');
    chmodSync(home, 0o700);
    ensurePrivateHome(home);
    expect(mode(join(home, 'state.db'))).toBe(0o600);
    expect(mode(join(home, 'workspaces'))).toBe(0o700);
    // Behind a 0700 home nobody else reaches it; doctor still reports it.
    expect(mode(join(home, 'workspaces', 'w', 'profile.sh'))).toBe(0o644);
    expect(auditHome(home, false).map((e) => e.path)).toEqual([join(home, 'workspaces', 'w'), join(home, 'workspaces', 'w', 'profile.sh')]);
  });

  it('writes a file 0600 whatever mode it had', () => {
    const file = join(scratch, 'token');
    writeFileSync(file, 'old');
    chmodSync(file, 0o666);
    writePrivateFile(file, 'new');
    expect(mode(file)).toBe(0o600);
  });
});
