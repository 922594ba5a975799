import { fileURLToPath } from 'node:url';
import type { RuntimeKind } from '../runtime/types.js';
import { DEFAULT_IMAGE } from './spec.js';

/**
 * Where the default workspace image's build context is: `images/workspace` at the package root,
 * the same two folders up from this module in a checkout (src/workspace), in the library build
 * (dist/workspace) and in the CLI bundle (dist/cli, where tools/bundle-cli.ts relocates the URL).
 */
export function workspaceImageDir(): string {
  return fileURLToPath(new URL('../../images/workspace', import.meta.url));
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
