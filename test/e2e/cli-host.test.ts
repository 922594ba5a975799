import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { berthCli, json } from './cli-suite.js';

describe('berth CLI in host mode and without a workspace', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-cli-host-'));
  const root = join(scratch, 'project');
  mkdirSync(root);
  writeFileSync(join(root, 'hello.txt'), 'hello\n');
  // Host mode's egress proxy gets a port of its own: another Berth home on this machine may hold 3128.
  const env = { ...process.env, BERTH_HOME: join(scratch, 'home'), BERTH_RUNTIME: 'host', BERTH_HOST_EGRESS_PORT: String(20000 + Math.floor(Math.random() * 20000)) };
  const berth = berthCli(env);

  it('prints its version and usage', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(await berth(['--version'])).toEqual({ exitCode: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const bare = await berth([]);
    expect(bare.exitCode).toBe(2);
    expect(bare.stdout).toContain('Usage: berth <command>');
    const unknown = await berth(['frobnicate']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "frobnicate".');
  });

  it('runs the workspace lifecycle on the host, and says it is not isolated', async () => {
    const up = await berth(['up', 'hosted', '--root', root, '--env', 'MODE=host']);
    expect(up.exitCode).toBe(0);
    expect(up.stderr).toContain('host mode');
    // Sandboxed, but no egress rules: its network is the host's, and up says so.
    expect(up.stderr).toContain('its network NOT controlled (no egress rules: --allow host[:port] confines it to the proxy)');
    expect(json(await berth(['status', 'hosted', '--json']))).toMatchObject({ id: 'hosted', runtime: 'host', state: 'running', isolated: false, isolation: 'sandbox', ip: null });
    const exec = await berth(['exec', 'hosted', '--', 'sh', '-c', 'echo "$MODE $BERTH_WORKSPACE"; cat hello.txt; exit 9']);
    expect(exec).toMatchObject({ exitCode: 9, stdout: 'host hosted\nhello\n' });
    // Global options may also come before the command; after `--` everything stays the user's.
    expect(json(await berthCli({ ...env, BERTH_RUNTIME: '' })(['--runtime', 'host', '--json', 'status', 'hosted']))).toMatchObject({ id: 'hosted', runtime: 'host' });
    expect((await berth(['--runtime=host', 'exec', 'hosted', '--', 'echo', '--json'])).stdout).toBe('--json\n');
    expect(json(await berth(['ls', '--json']))).toEqual([{ id: 'hosted', runtime: 'host', state: 'running', container: 'berth-hosted', image: 'berth-workspace:latest', ip: null, root, isolation: 'sandbox', labels: {}, observedAt: expect.any(String) as unknown }]);
    const shell = await berth(['shell', 'hosted'], { input: 'echo "[$MODE] $(pwd)"; exit 4\n' });
    expect(shell.exitCode).toBe(4);
    expect(shell.stdout).toContain(`[host] ${root}`);
    const guarded = await berth(['up', 'guarded', '--root', root, '--allow', 'registry.example.test']);
    // Sandboxed: the proxy is the only way out, so the rules hold (test/integration/sandbox-host.test.ts).
    expect(guarded.stderr).toContain('sandboxed (bubblewrap): the system read-only, the home empty, no network but the egress proxy.');
    expect(json(await berth(['status', 'guarded', '--json']))).toMatchObject({ isolation: 'sandbox', egress: { enforced: true, network: null } });
    expect((await berth(['exec', 'guarded', '--', 'sh', '-c', 'echo "$HTTPS_PROXY"'])).stdout).toMatch(/^http:\/\/guarded:[\w-]+@127\.0\.0\.1:\d+\n$/);
    expect((await berth(['rm', 'guarded'])).exitCode).toBe(0);
    expect((await berth(['rm', 'hosted'])).exitCode).toBe(0);
    expect(json(await berth(['ls', '--json']))).toEqual([]);
  });

  it('doctor --fix creates a missing state folder; without --fix it only says so', async () => {
    const fresh = { ...env, BERTH_HOME: join(scratch, 'not-yet-home') };
    const before = json<{ checks: { id: string; status: string; fix?: string }[] }>(await berthCli(fresh)(['doctor', '--json']));
    expect(before.checks.find((c) => c.id === 'state.writable')).toMatchObject({ status: 'warn', fix: 'Run `berth doctor --fix` to create it now.' });
    expect(existsSync(fresh.BERTH_HOME)).toBe(false);
    const after = json<{ checks: { id: string; status: string }[] }>(await berthCli(fresh)(['doctor', '--json', '--fix']));
    expect(after.checks.find((c) => c.id === 'state.writable')?.status).toBe('ok');
    expect(existsSync(fresh.BERTH_HOME)).toBe(true);
  });

  it('doctor reports each check as JSON', async () => {
    const report = json<{ ok: boolean; runtime: { kind: string; source: string }; checks: { id: string; status: string }[] }>(await berth(['doctor', '--json']));
    expect(report.runtime).toEqual({ kind: 'host', source: 'env', isolation: 'sandbox' }); // the capability, as this machine answers it
    expect(report.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining(['node', 'state.writable', 'detect.apple', 'detect.docker', 'detect.podman', 'detect.host', 'runtime.selected', 'runtime.reachable', 'runtime.isolation']),
    );
    expect(report.checks.find((c) => c.id === 'runtime.isolation')?.status).toBe('warn');
  });
});
