import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingImageHint, workspaceImageDir } from '../../src/workspace/image-source.js';
import { DEFAULT_IMAGE } from '../../src/workspace/spec.js';

describe('the missing-image hint', () => {
  it('offers berth image build and an absolute build context that exists for the default image', () => {
    const hint = missingImageHint('docker', DEFAULT_IMAGE);
    expect(hint).toContain('berth image build --runtime docker');
    expect(hint).toContain(`docker build -t ${DEFAULT_IMAGE} ${workspaceImageDir()}`);
    expect(existsSync(join(workspaceImageDir(), 'Dockerfile'))).toBe(true);
  });

  it("never suggests building Berth's Dockerfile under the tag of someone else's image", () => {
    const hint = missingImageHint('podman', 'ghcr.io/acme/dev:3');
    expect(hint).toContain('podman pull ghcr.io/acme/dev:3');
    expect(hint).not.toContain('build -t ghcr.io/acme/dev:3');
  });

  it("uses Apple container's own verbs", () => {
    expect(missingImageHint('apple', DEFAULT_IMAGE)).toContain(`container build -t ${DEFAULT_IMAGE}`);
    expect(missingImageHint('apple', 'alpine:3')).toContain('container image pull alpine:3');
  });
});
