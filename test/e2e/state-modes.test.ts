import { randomUUID } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { BERTH_BIN } from './cli-suite.js';

const ENGINE = 'podman';

/** Every folder and file under `root` (not following links), with its permission bits. */
function walk(root: string): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  const visit = (path: string): void => {
    const stat = lstatSync(path);
    out.push({ path, dir: stat.isDirectory(), mode: stat.mode & 0o777 });
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  visit(root);
  return out;
}

const octal = (mode: number): string => `0${mode.toString(8)}`;

/**
 * $BERTH_HOME holds proxy tokens and env values: a home that already exists 0755 with loose files
 * in it, and a umask of 000, still end up with every folder 0700 and every file 0600 (the SQLite
 * -wal and -shm included) once Berth opens it; `berth doctor` warns and `--fix` tightens; and
 * after `berth rm` neither a file nor a row holds the env value or the proxy token.
 */
describe(`state file modes and secrets after rm, daemon on ${ENGINE}`, () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-modes-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  const ws = `modes-${run8}`;
  const secret = `sk-live-${randomUUID()}`;
  const env = { ...engineEnv(), BERTH_HOME: home, BERTH_RUNTIME: ENGINE };
  let daemon: RunningDaemon | undefined;
  const berth = (args: string[]) => run(['sh', '-c', 'umask 000 && exec "$@"', 'sh', process.execPath, BERTH_BIN, ...args], { env, okExitCodes: 'any', timeoutMs: 120_000 });

  beforeAll(() => {
    mkdirSync(root);
    // What an older Berth, or a user's mkdir, left: a 0755 home, 0755 folders, 0644 files.
    mkdirSync(join(home, 'workspaces', 'stale'), { recursive: true, mode: 0o755 });
    for (const dir of [home, join(home, 'workspaces'), join(home, 'workspaces', 'stale')]) chmodSync(dir, 0o755);
    writeFileSync(join(home, 'workspaces', 'stale', 'profile.sh'), "export API_KEY='old'\n", { mode: 0o644 });
    writeFileSync(join(home, 'daemon.token'), `${'t'.repeat(43)}\n`, { mode: 0o644 });
    chmodSync(join(home, 'daemon.token'), 0o644);
  });

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    await run([ENGINE, 'rm', '-f', `berth-${ws}`], { env, okExitCodes: 'any' });
    await run([ENGINE, 'network', 'rm', `berth-net-${ws}`], { env, okExitCodes: 'any' });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('makes every folder 0700 and every file 0600 under a pre-existing 0755 home, whatever the umask', async () => {
    daemon = await startDaemon(home, env, ['--runtime', ENGINE], { umask: '000' });
    const up = await berth(['up', ws, '--root', root, '--image', TEST_IMAGE, '--env', `API_KEY=${secret}`, '--allow', 'example.test']);
    expect(up.exitCode, up.stderr).toBe(0);
    const names = walk(home).map((e) => e.path.slice(home.length + 1));
    // The database is open in the daemon: its WAL and shared memory exist, and count.
    expect(names).toEqual(expect.arrayContaining(['state.db', 'state.db-wal', 'state.db-shm', 'daemon.token', 'daemon.json', 'berth.sock', 'daemon.lock', `workspaces/${ws}/profile.sh`, `workspaces/${ws}/address.json`]));
    const loose = walk(home).filter((e) => e.mode !== (e.dir ? 0o700 : 0o600) && !(e.path.endsWith('berth.sock') && e.mode === 0o600));
    expect(loose.map((e) => `${e.path} ${octal(e.mode)}`)).toEqual([]);
  });

  it('berth doctor warns about a loosened file and --fix tightens it', async () => {
    chmodSync(join(home, 'state.db'), 0o644);
    chmodSync(join(home, 'workspaces'), 0o755);
    const warned = await berth(['doctor', '--json']);
    const check = (out: string) => (JSON.parse(out) as { checks: { id: string; status: string; detail: string }[] }).checks.find((c) => c.id === 'state.private');
    expect(check(warned.stdout)).toMatchObject({ status: 'warn', detail: expect.stringContaining(`${join(home, 'state.db')} is 0644 (want 0600)`) as unknown });
    const fixed = await berth(['doctor', '--fix', '--json']);
    expect(check(fixed.stdout)?.status).toBe('ok');
    expect(lstatSync(join(home, 'state.db')).mode & 0o777).toBe(0o600);
    expect(lstatSync(join(home, 'workspaces')).mode & 0o777).toBe(0o700);
  });

  it('keeps neither the env value nor the proxy token after berth rm: no file, no row, no byte', async () => {
    const require = createRequire(import.meta.url);
    const Sqlite = require('better-sqlite3') as typeof Database;
    const peek = new Sqlite(join(home, 'state.db'), { readonly: true, fileMustExist: true });
    const token = (peek.prepare('SELECT token FROM egress WHERE workspace = ?').get(ws) as { token: string } | undefined)?.token ?? '';
    peek.close();
    expect(token.length).toBeGreaterThan(8);
    // Before: both are really there (so the checks below can see them).
    const bytes = (): string => walk(home).filter((e) => !e.dir && !e.path.endsWith('berth.sock')).map((e) => readFileSync(e.path).toString('latin1')).join('\n');
    expect(bytes()).toContain(secret);

    const rm = await berth(['rm', ws]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    await daemon?.stop();
    daemon = undefined;
    const leftover = walk(home).filter((e) => !e.dir && !e.path.endsWith('berth.sock') && (readFileSync(e.path).includes(secret) || readFileSync(e.path).includes(token)));
    expect(leftover.map((e) => e.path)).toEqual([]);
    expect(walk(home).map((e) => e.path)).not.toContain(join(home, 'workspaces', ws));
    const db = new Sqlite(join(home, 'state.db'), { readonly: true });
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]) {
      const rows = JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all());
      expect(rows, name).not.toContain(secret);
      expect(rows, name).not.toContain(token);
    }
    // The ledger keeps its rows (gc and history need them), without the env.
    expect((db.prepare('SELECT count(*) AS n FROM ledger WHERE workspace = ?').get(ws) as { n: number }).n).toBeGreaterThan(0);
    db.close();
  });
});
