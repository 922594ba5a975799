import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { startTestRegistry, type TestRegistry } from '../support/oci-registry.js';

/**
 * Features on real engines, built from the test image (no registry but the test's own): a local
 * feature with an option (its install.sh writes the value), an OCI feature pulled from a registry
 * this test runs on loopback (with the anonymous token flow), installsAfter ordering them, the
 * devcontainer.metadata label, the cached image reused, and a changed option recreating.
 * The features only write files, so each build is a few seconds.
 */
function feature(dir: string, json: object, install: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'devcontainer-feature.json'), JSON.stringify(json, null, 2));
  writeFileSync(join(dir, 'install.sh'), `#!/bin/sh\nset -e\n${install}\n`);
}

let registry: TestRegistry;
const scratch = mkdtempSync(join(tmpdir(), 'berth-features-'));

beforeAll(async () => {
  registry = await startTestRegistry({ token: true });
  const oci = join(scratch, 'oci-hello');
  feature(oci, { id: 'oci-hello', version: '1.0.0', options: { word: { type: 'string', default: 'default-word' } }, containerEnv: { OCI_HELLO: 'yes' } }, 'echo "$WORD" > /oci.txt\necho "$_REMOTE_USER" > /oci-remote-user.txt\necho oci >> /order.txt');
  await registry.pushFeature('berth/features/oci-hello', '1', oci);
});

afterAll(async () => {
  await registry.close();
  rmSync(scratch, { recursive: true, force: true });
});

for (const kind of ['podman', 'docker'] as const) {
  describe(`devcontainer features on ${kind}`, () => {
    const id = `dcf-${randomUUID().slice(0, 8)}`;
    const root = join(scratch, `project-${kind}`);
    const configFile = join(root, '.devcontainer/devcontainer.json');
    let berth: Berth | null = null;
    const cli = (args: string[]) => run([kind, ...args], { env: engineEnv(), okExitCodes: 'any' });

    afterAll(async () => {
      await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      // The images this test built (labelled with its config file), and only those.
      const images = (await cli(['images', '-q', '--filter', `label=berth.devcontainer=${configFile}`])).stdout.split('\n').filter((line) => line !== '');
      if (images.length > 0) await cli(['rmi', '-f', ...new Set(images)]);
    });

    const writeConfig = (greeting: string): void =>
      writeFileSync(
        configFile,
        `// features as repositories write them
{
  "image": "${TEST_IMAGE}",
  "remoteUser": "root",
  "features": {
    "./later": {},
    "./greet": { "greeting": "${greeting}" },
    "${registry.host}/berth/features/oci-hello:1": { "word": "from-the-registry" },
  },
}
`,
      );
    const sh = async (script: string): Promise<string> => {
      const result = await (berth as Berth).exec(id, ['sh', '-c', script]);
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout.trim();
    };

    it('installs a local feature with its option, an OCI feature from the registry, in installsAfter order; reuses the image; a changed option recreates', async () => {
      feature(join(root, '.devcontainer/greet'), { id: 'greet', options: { greeting: { type: 'string', default: 'hello' } }, containerEnv: { GREET_ENV: 'set by greet' } }, 'echo "$GREETING" > /greet.txt\necho greet >> /order.txt');
      // By id, "later" would install first; installsAfter puts it after greet.
      feature(join(root, '.devcontainer/later'), { id: 'later', installsAfter: ['./greet'] }, 'cat /greet.txt > /later-saw.txt\necho later >> /order.txt');
      writeConfig('hej');
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home: join(scratch, `home-${kind}`), runtime: kind, env: engineEnv(), userHome: join(scratch, 'user') });

      const first = await berth.upDevcontainer(id, { root });
      expect(first.action).toBe('created');
      expect(await sh('cat /greet.txt')).toBe('hej');
      expect(await sh('cat /oci.txt')).toBe('from-the-registry');
      expect(await sh('cat /order.txt')).toBe('greet\noci\nlater');
      expect(await sh('cat /later-saw.txt')).toBe('hej');
      expect(await sh('cat /oci-remote-user.txt')).toBe('root');
      expect(await sh('echo "$GREET_ENV|$OCI_HELLO"')).toBe('set by greet|yes');
      // The registry was asked through the token flow.
      expect(registry.requests).toContain('GET /token');

      // The image carries the devcontainer.metadata label the reference writes: one entry per feature, then the config's.
      // podman names local images localhost/<name> in some answers and not in others.
      const bare = (ref: string): string => ref.replace(/^localhost\//, '');
      const image = bare(first.container.image);
      expect(image).toMatch(/berth-devcontainer-features:[0-9a-f]{16}$/);
      const label = (await cli(['image', 'inspect', '--format', '{{index .Config.Labels "devcontainer.metadata"}}', image])).stdout.trim();
      const entries = JSON.parse(label) as { id?: string; remoteUser?: string }[];
      expect(entries.map((e) => e.id ?? null)).toEqual(['./greet', `${registry.host}/berth/features/oci-hello:1`, './later', null]);
      expect(entries.at(-1)?.remoteUser).toBe('root');

      // Up again after a stop: the same container, no build.
      await berth.stop(id);
      const events: string[] = [];
      const again = await berth.upDevcontainer(id, { root, onBuildOutput: (chunk) => events.push(chunk.toString()) });
      expect(again.action).toBe('started');
      expect(bare(again.container.image)).toBe(image);
      expect(events).toEqual([]);

      // A changed option is drift: a new image, the container recreated with the new value.
      writeConfig('hallo');
      const changed = await berth.upDevcontainer(id, { root });
      expect(changed.action).toBe('recreated');
      expect(changed.reasons.length).toBeGreaterThan(0);
      expect(bare(changed.container.image)).not.toBe(image);
      expect(await sh('cat /greet.txt')).toBe('hallo');
    }, 300_000);
  });
}
