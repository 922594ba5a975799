// @ts-check
// Volumes: Apple volume X is engine volume acd-<hash>-X, its Apple configuration in a label.

import { LABEL, LABEL_CONFIG, LABEL_ID, LABEL_STATE } from '../core/config.mjs';
import { fail } from '../core/errors.mjs';
import { engineMessage, lines, parseJsonArray } from '../core/engine.mjs';
import { encodeDate } from '../core/output.mjs';
import { appRoot } from '../core/system-state.mjs';

/** @typedef {import('../core/context.mjs').Ctx} Ctx */
/** @typedef {import('../core/system-state.mjs').SystemState} SystemState */
/** @typedef {{ creationMs?: number, labels?: Record<string, string>, options?: Record<string, string>, sizeInBytes?: number }} VolumeConfig */
/** @typedef {{ name: string, raw: Record<string, any>, config: VolumeConfig }} Volume */

/**
 * @param {Ctx} ctx
 * @param {string} name
 */
export function engineVolumeName(ctx, name) {
  return ctx.config.prefix + name;
}

/**
 * Where Apple keeps the volume's disk image.
 * @param {Ctx} ctx
 * @param {SystemState} sys
 * @param {string} name
 */
export function volumeSource(ctx, sys, name) {
  return `${appRoot(ctx.config, sys).replace(/\/$/, '')}/volumes/${name}/volume.img`;
}

/**
 * A volume's Apple configuration, kept base64url-encoded in a label (podman parses volume labels as CSV).
 * @param {Record<string, any>} raw
 * @returns {VolumeConfig}
 */
function volumeConfig(raw) {
  try {
    return JSON.parse(Buffer.from(raw.Labels?.[LABEL_CONFIG] ?? '', 'base64url').toString('utf8') || '{}');
  } catch {
    return {};
  }
}

/**
 * @param {Ctx} ctx
 * @param {string} name
 * @returns {Volume | null}
 */
export function inspectVolume(ctx, name) {
  const r = ctx.engine.run(['volume', 'inspect', engineVolumeName(ctx, name)]);
  if (r.code !== 0) return null;
  const raw = parseJsonArray(r.stdout)[0];
  if (!raw || (raw.Labels ?? {})[LABEL_STATE] !== ctx.config.hash) return null;
  return { name, raw, config: volumeConfig(raw) };
}

/**
 * @param {Ctx} ctx
 * @param {string} name
 * @param {VolumeConfig} config
 */
export function createVolume(ctx, name, config) {
  const r = ctx.engine.run([
    'volume', 'create',
    '--label', `${LABEL}=1`, '--label', `${LABEL_STATE}=${ctx.config.hash}`, '--label', `${LABEL_ID}=${name}`,
    '--label', `${LABEL_CONFIG}=${Buffer.from(JSON.stringify(config)).toString('base64url')}`,
    engineVolumeName(ctx, name),
  ]);
  if (r.code !== 0) fail('internalError', `failed to create volume ${name}`, engineMessage(r));
}

/**
 * The volumes made with this state directory.
 * @param {Ctx} ctx
 * @returns {Volume[]}
 */
export function listVolumes(ctx) {
  const r = ctx.engine.run(['volume', 'ls', '-q', '--filter', `label=${LABEL_STATE}=${ctx.config.hash}`]);
  const names = lines(r.stdout).filter((n) => n.startsWith(ctx.config.prefix));
  if (names.length === 0) return [];
  return parseJsonArray(ctx.engine.run(['volume', 'inspect', ...names]).stdout).map((raw) => ({ name: raw.Name.slice(ctx.config.prefix.length), raw, config: volumeConfig(raw) }));
}

/**
 * A volume as `volume inspect` and `volume list --format json` print it.
 * @param {Ctx} ctx
 * @param {SystemState} sys
 * @param {Volume} v
 */
export function volumeResource(ctx, sys, v) {
  const created = v.config.creationMs ?? Date.parse(v.raw.CreatedAt ?? '');
  const configuration = {
    name: v.name,
    driver: 'local',
    format: 'ext4',
    source: volumeSource(ctx, sys, v.name),
    labels: v.config.labels ?? {},
    options: v.config.options ?? {},
    sizeInBytes: v.config.sizeInBytes,
  };
  if (ctx.release.has('json.managed-resources')) return { id: v.name, configuration: { ...configuration, creationDate: encodeDate(ctx.release, created) } };
  return { ...configuration, createdAt: encodeDate(ctx.release, created) };
}
