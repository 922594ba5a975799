import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuntimeKind } from '../runtime/types.js';
import { DEFAULT_IMAGE } from './spec.js';

/**
 * Where the default workspace image's build context is, for a checkout and for an installed package
 * alike: the folder holding Berth's own package.json, found by walking up from this module (so the
 * answer survives bundling and `node_modules/berth/dist/...` layouts), plus `images/workspace`.
 */
export function workspaceImageDir(): string {
  return join(packageRoot(), 'images', 'workspace');
}

let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isBerthManifest(manifest)) return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Berth's package.json was not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function isBerthManifest(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'berth';
  } catch {
    return false;
  }
}

/**
 * What to do about a workspace image the runtime does not have. The default image is Berth's to
 * build (`berth image build`, or the engine's own build on the shipped folder); any other image is
 * the user's, so the hint never suggests building Berth's Dockerfile under someone else's tag.
 */
export function missingImageHint(kind: RuntimeKind, image: string): string {
  if (image === DEFAULT_IMAGE) {
    const build = kind === 'apple' ? 'container build' : `${kind} build`;
    return `Build it with \`berth image build --runtime ${kind}\` (or \`${build} -t ${image} ${workspaceImageDir()}\`), or pass --image.`;
  }
  const pull = kind === 'apple' ? 'container image pull' : `${kind} pull`;
  return `Pull it (\`${pull} ${image}\`), build it yourself, or pass --image (the default, ${DEFAULT_IMAGE}, is built by \`berth image build\`).`;
}
