import { isAbsolute } from 'node:path';
import { invalidSpec } from './errors.js';
import type { ContainerSpec } from './types.js';

/**
 * Checks that every adapter applies before it builds a command line, so bad input fails the same
 * way on every runtime, with a message that says what and how to fix, before any engine is called.
 */

/**
 * What docker, podman and Apple `container` all accept, 2 to 128 characters. Apple caps names at
 * 63; its adapter checks that itself, since a workspace id alone may be 63 long.
 */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
/** What docker's local volume driver takes (`[a-zA-Z0-9][a-zA-Z0-9_.-]`, two characters at least); podman and Apple take it too. */
export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,254}$/;

export function validateContainerName(name: string): void {
  if (!CONTAINER_NAME.test(name)) {
    throw invalidSpec(
      `Invalid container name ${JSON.stringify(name)}.`,
      'Use 2 to 128 characters: letters, digits, "_", "." or "-", starting with a letter or digit.',
    );
  }
}

export function validateEnv(env: Readonly<Record<string, string>> | undefined, where: string): void {
  for (const [key, value] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(key)) {
      throw invalidSpec(`Invalid environment variable name ${JSON.stringify(key)} in ${where}.`, 'Names are letters, digits and "_", not starting with a digit.');
    }
    if (value.includes('\0')) throw invalidSpec(`Environment variable ${key} in ${where} contains a NUL byte.`, 'Remove the NUL byte.');
  }
}

export function validateLabels(labels: Readonly<Record<string, string>> | undefined): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (!LABEL_KEY.test(key)) {
      throw invalidSpec(`Invalid label key ${JSON.stringify(key)}.`, 'Label keys are letters, digits, ".", "_", "/" and "-" (reverse-DNS style: dev.example.key).');
    }
    if (/[\n\0]/.test(value)) throw invalidSpec(`Label ${key} has a newline or NUL in its value.`, 'Use a single-line value.');
  }
}

export function validateContainerSpec(spec: ContainerSpec): void {
  validateContainerName(spec.name);
  if (spec.image.trim() === '') throw invalidSpec('The container spec has no image.', 'Name an image, e.g. --image node:22.');
  // No image reference starts with "-"; one that does would be read by the engine CLI as a flag.
  if (spec.image.startsWith('-') || /\s/.test(spec.image)) {
    throw invalidSpec(`Invalid image reference ${JSON.stringify(spec.image)}.`, 'Use a reference such as node:22 or registry.example/team/image:tag.');
  }
  validateEnv(spec.env, `container ${spec.name}`);
  validateLabels(spec.labels);
  for (const mount of spec.mounts ?? []) {
    for (const [field, path] of [['source', mount.source], ['target', mount.target]] as const) {
      if (!isAbsolute(path)) throw invalidSpec(`Mount ${field} ${JSON.stringify(path)} is not an absolute path.`, 'Give mounts as absolute paths.');
      // Engine CLIs split --mount on commas and cannot quote reliably across docker and podman.
      if (/[,\n\0]/.test(path)) {
        throw invalidSpec(`Mount ${field} ${JSON.stringify(path)} contains a comma, newline or NUL, which container engines cannot express.`, 'Rename the folder or mount a parent folder.');
      }
    }
  }
  for (const volume of spec.volumes ?? []) {
    if (volume.name !== null && !VOLUME_NAME.test(volume.name)) {
      throw invalidSpec(`Invalid volume name ${JSON.stringify(volume.name)}.`, 'A volume name is 2 or more letters, digits, "_", "." or "-", starting with a letter or digit.');
    }
    validateLabels(volume.labels);
  }
  for (const target of [...(spec.volumes ?? []), ...(spec.tmpfs ?? [])].map((m) => m.target)) {
    if (!isAbsolute(target)) throw invalidSpec(`Mount target ${JSON.stringify(target)} is not an absolute path.`, 'Give mount targets as absolute paths in the container.');
    if (/[,\n\0]/.test(target)) throw invalidSpec(`Mount target ${JSON.stringify(target)} contains a comma, newline or NUL, which container engines cannot express.`, 'Choose another path in the container.');
  }
  if (spec.cpus !== undefined && !(Number.isFinite(spec.cpus) && spec.cpus > 0)) {
    throw invalidSpec(`cpus must be a positive number, got ${String(spec.cpus)}.`, 'Use e.g. --cpus 2.');
  }
  if (spec.memoryBytes !== undefined && !(Number.isSafeInteger(spec.memoryBytes) && spec.memoryBytes > 0)) {
    throw invalidSpec(`memory must be a positive whole number of bytes, got ${String(spec.memoryBytes)}.`, 'Use e.g. --memory 2g.');
  }
}
