import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appleAutostart, berthHome, loadConfig } from '../../src/config.js';
import { thrownBy } from '../support/expect-code.js';

const made: string[] = [];

function home(config?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  made.push(dir);
  if (config !== undefined) writeFileSync(join(dir, 'config.json'), config);
  return dir;
}


afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('reads appleAutostart as a boolean and refuses anything else, naming the key', () => {
    expect(loadConfig(home('{"appleAutostart":false}'))).toEqual({ appleAutostart: false });
    expect(loadConfig(home('{"runtime":"apple","appleAutostart":true}'))).toEqual({ runtime: 'apple', appleAutostart: true });
    for (const bad of ['"false"', '0', 'null']) {
      const dir = home(`{"appleAutostart":${bad}}`);
      const error = thrownBy(() => loadConfig(dir));
      expect(error.code).toBe('E_INVALID_INPUT');
      expect(error.message).toBe(`${join(dir, 'config.json')}: appleAutostart: expected true or false, got ${bad}`);
    }
  });

  it('treats a missing file as an empty config', () => {
    expect(loadConfig(home())).toEqual({});
  });

  it('treats a missing home folder as an empty config', () => {
    expect(loadConfig(join(home(), 'does', 'not', 'exist'))).toEqual({});
  });

  it('reads a valid runtime', () => {
    expect(loadConfig(home('{"runtime":"podman"}'))).toEqual({ runtime: 'podman' });
    expect(loadConfig(home('{ "runtime": "auto" }\n'))).toEqual({ runtime: 'auto' });
    expect(loadConfig(home('{}'))).toEqual({});
  });

  it('rejects an unknown key, naming the file', () => {
    const dir = home('{"runtime":"docker","runtimes":"podman"}');
    const error = thrownBy(() => loadConfig(dir));
    expect(error.code).toBe('E_INVALID_INPUT');
    expect(error.message.startsWith(`${join(dir, 'config.json')}: `)).toBe(true);
    expect(error.message).toContain('runtimes');
    expect(error.hint).toBe('Known keys: runtime ("apple", "docker", "podman", "host" or "auto"), appleAutostart (true or false).');
  });

  it('rejects an unknown runtime value, naming the file and the key', () => {
    const dir = home('{"runtime":"lxc"}');
    const error = thrownBy(() => loadConfig(dir));
    expect(error.code).toBe('E_INVALID_INPUT');
    expect(error.message.startsWith(`${join(dir, 'config.json')}: runtime: `)).toBe(true);
  });

  it('rejects a config that is not an object', () => {
    const dir = home('["podman"]');
    const error = thrownBy(() => loadConfig(dir));
    expect(error.code).toBe('E_INVALID_INPUT');
    expect(error.message.startsWith(`${join(dir, 'config.json')}: (top level): `)).toBe(true);
  });

  it('rejects bad JSON, naming the file', () => {
    const dir = home('{"runtime": podman}');
    const error = thrownBy(() => loadConfig(dir));
    expect(error.code).toBe('E_INVALID_INPUT');
    expect(error.message.startsWith(`${join(dir, 'config.json')} is not valid JSON: `)).toBe(true);
    expect(error.hint).toBe('Fix the file, or delete it to use the defaults.');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('rejects an empty file as bad JSON', () => {
    const dir = home('');
    expect(thrownBy(() => loadConfig(dir)).message).toContain('is not valid JSON');
  });

  it('rethrows read errors other than a missing file', () => {
    const dir = home();
    mkdirSync(join(dir, 'config.json'));
    expect(() => loadConfig(dir)).toThrow(expect.objectContaining({ code: 'EISDIR' }) as Error);
  });
});

describe('berthHome', () => {
  it('uses BERTH_HOME when set', () => {
    expect(berthHome({ BERTH_HOME: '/srv/berth' })).toBe('/srv/berth');
  });

  it('falls back to ~/.berth when BERTH_HOME is unset or empty', () => {
    expect(berthHome({})).toBe(join(homedir(), '.berth'));
    expect(berthHome({ BERTH_HOME: '' })).toBe(join(homedir(), '.berth'));
  });
});

describe('appleAutostart', () => {
  it('is on by default', () => {
    expect(appleAutostart({}, {})).toBe(true);
  });

  it('follows config.json when BERTH_APPLE_AUTOSTART is unset or empty', () => {
    expect(appleAutostart({}, { appleAutostart: false })).toBe(false);
    expect(appleAutostart({ BERTH_APPLE_AUTOSTART: '' }, { appleAutostart: false })).toBe(false);
    expect(appleAutostart({}, { appleAutostart: true })).toBe(true);
  });

  it('lets BERTH_APPLE_AUTOSTART win over config.json either way', () => {
    expect(appleAutostart({ BERTH_APPLE_AUTOSTART: '0' }, {})).toBe(false);
    expect(appleAutostart({ BERTH_APPLE_AUTOSTART: '0' }, { appleAutostart: true })).toBe(false);
    expect(appleAutostart({ BERTH_APPLE_AUTOSTART: '1' }, { appleAutostart: false })).toBe(true);
  });
});
