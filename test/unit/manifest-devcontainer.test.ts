import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { parseManifest } from '../../src/orchestrator/manifest.js';

/**
 * `devcontainer: true | <path>` in berth.yaml (README "devcontainer.json", "In berth.yaml"): what it
 * declares, where a relative path is resolved, and the keys that do not go with it, each refused
 * where it is written (file:line:column), all in one pass.
 */

const FILE = '/tmp/project/berth.yaml';
const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

function problemsOf(text: string): string[] {
  try {
    parseManifest(text, FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(BerthError);
    return (error as BerthError).message.split('\n').slice(1);
  }
  throw new Error('the manifest was accepted');
}

describe('berth.yaml: devcontainer', () => {
  it('true: found in the root; a path: relative to the file; runInitializeCommand opts in; the other settings are the base', () => {
    const state = parseManifest(
      y(
        'version: 1',
        'workspaces:',
        '  a:',
        '    root: ./app',
        '    devcontainer: true',
        '    cpus: 2',
        '  b:',
        '    root: ./app',
        '    devcontainer: ./configs/dev/devcontainer.json',
        '    runInitializeCommand: true',
        '  c:',
        '    devcontainer: /abs/devcontainer.json',
        '  d:',
        '    devcontainer: false',
        '    image: node:22',
      ),
      FILE,
    );
    const [a, b, c, d] = state.workspaces;
    expect(a?.devcontainer).toEqual({ config: undefined, runInitializeCommand: false });
    expect(a?.spec.root).toBe('/tmp/project/app');
    expect(a?.spec.cpus).toBe(2);
    expect(b?.devcontainer).toEqual({ config: '/tmp/project/configs/dev/devcontainer.json', runInitializeCommand: true });
    expect(c?.devcontainer).toEqual({ config: '/abs/devcontainer.json', runInitializeCommand: false });
    // false: a workspace like any other.
    expect(d?.devcontainer).toBeUndefined();
    expect(d?.spec.image).toBe('node:22');
  });

  it('image and user do not go with it; every such key is named where it is written', () => {
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    devcontainer: true', '    image: node:22', '    user: host'))).toEqual([
      'berth.yaml:5:5: workspaces.web.image: does not go with devcontainer: the devcontainer.json names the image (image, build or dockerComposeFile); remove image here',
      'berth.yaml:6:5: workspaces.web.user: does not go with devcontainer: the devcontainer.json says who the workspace runs as (containerUser/remoteUser); remove user here',
    ]);
    // With a path too, and alongside the schema's own problems in the same pass.
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    image: x', '    devcontainer: .devcontainer/devcontainer.json', '    cpus: lots'))).toEqual([
      'berth.yaml:4:5: workspaces.web.image: does not go with devcontainer: the devcontainer.json names the image (image, build or dockerComposeFile); remove image here',
      'berth.yaml:6:11: workspaces.web.cpus: must be a number of CPUs, such as 2',
    ]);
  });

  it('runInitializeCommand without a devcontainer would do nothing: refused', () => {
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    image: x', '    runInitializeCommand: true'))).toEqual([
      'berth.yaml:5:5: workspaces.web.runInitializeCommand: goes with devcontainer: true | <path>: only a devcontainer.json has an initializeCommand',
    ]);
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    devcontainer: false', '    runInitializeCommand: true'))).toEqual([
      'berth.yaml:5:5: workspaces.web.runInitializeCommand: goes with devcontainer: true | <path>: only a devcontainer.json has an initializeCommand',
    ]);
  });

  it('allowPrivileged: true grants the devcontainer.json\'s privileges (as --allow-privileged); left out, false or alone it grants nothing', () => {
    const state = parseManifest(y('version: 1', 'workspaces:', '  a:', '    devcontainer: true', '    allowPrivileged: true', '  b:', '    devcontainer: true', '    allowPrivileged: false'), FILE);
    expect(state.workspaces[0]?.devcontainer).toEqual({ config: undefined, runInitializeCommand: false, allowPrivileged: true });
    expect(state.workspaces[1]?.devcontainer).toEqual({ config: undefined, runInitializeCommand: false });
    // Without a devcontainer it would do nothing: refused where it is written.
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    image: x', '    allowPrivileged: true'))).toEqual([
      'berth.yaml:5:5: workspaces.web.allowPrivileged: goes with devcontainer: true | <path>: only a devcontainer.json (its runArgs, privileged, capAdd, features) asks for privileges',
    ]);
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    devcontainer: true', '    allowPrivileged: yes'))).toEqual(['berth.yaml:5:22: workspaces.web.allowPrivileged: must be true or false']);
  });

  it('a value of the wrong kind says what it takes', () => {
    const message = "must be true (the root's .devcontainer/devcontainer.json) or the path of a devcontainer.json (relative to this file)";
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    devcontainer: 3'))).toEqual([`berth.yaml:4:19: workspaces.web.devcontainer: ${message}`]);
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    devcontainer: ""'))).toEqual([`berth.yaml:4:19: workspaces.web.devcontainer: ${message}`]);
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    devcontainer: true', '    runInitializeCommand: yes'))).toEqual(['berth.yaml:5:27: workspaces.web.runInitializeCommand: must be true or false']);
    // A typo is an unknown key, with the workspace's keys.
    expect(problemsOf(y('version: 1', 'workspaces:', '  web:', '    devContainer: true'))[0]).toContain('unknown key "devContainer"; known keys here: root, image,');
  });
});
