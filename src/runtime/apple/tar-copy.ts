import { cp, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { runStreaming } from '../../process/index.js';

/** Runs the `container` CLI for one container, with binary stdout (tar streams). */
export interface TarHost {
  name: string;
  run: (args: string[], input?: Uint8Array) => Promise<Buffer>;
}

/*
 * Before 1.0, Apple `container` had no `cp`. These copy through tar streams over `exec`, with the
 * same semantics as `docker cp`: into an existing folder the source keeps its name, otherwise it
 * takes the destination's name. They need `tar` on the host and in the container.
 */

export async function copyInWithTar(host: TarHost, hostPath: string, containerPath: string): Promise<void> {
  const intoFolder = containerPath.endsWith('/') || (await isContainerDir(host, containerPath));
  const folder = intoFolder ? containerPath : posix.dirname(containerPath);
  const name = intoFolder ? basename(hostPath) : posix.basename(containerPath);
  const staging = await mkdtemp(join(tmpdir(), 'berth-cp-'));
  try {
    // Stage under the final name, so the archive unpacks to the right name with any tar.
    await cp(hostPath, join(staging, name), { recursive: true });
    const archive = await tarOnHost(['-C', staging, '-cf', '-', name]);
    await host.run(['exec', '--interactive', host.name, 'sh', '-c', 'mkdir -p "$1" && tar -C "$1" -xf -', 'sh', folder], archive);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export async function copyOutWithTar(host: TarHost, containerPath: string, hostPath: string): Promise<void> {
  const archive = await host.run(['exec', host.name, 'tar', '-C', posix.dirname(containerPath), '-cf', '-', posix.basename(containerPath)]);
  const target = await stat(hostPath).catch(() => undefined);
  if (target?.isDirectory()) {
    await tarOnHost(['-C', hostPath, '-xf', '-'], archive);
    return;
  }
  const staging = await mkdtemp(join(dirname(hostPath), '.berth-cp-'));
  try {
    await tarOnHost(['-C', staging, '-xf', '-'], archive);
    await rename(join(staging, posix.basename(containerPath)), hostPath);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function isContainerDir(host: TarHost, path: string): Promise<boolean> {
  const answer = await host.run(['exec', host.name, 'sh', '-c', 'if [ -d "$1" ]; then echo dir; fi', 'sh', path]);
  return answer.toString('utf8').trim() === 'dir';
}

async function tarOnHost(args: string[], input?: Uint8Array): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await runStreaming(['tar', ...args], { input, onStdout: (chunk) => chunks.push(chunk) });
  return Buffer.concat(chunks);
}

