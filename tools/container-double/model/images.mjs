// @ts-check
// Images: Apple references over the engine's local images (no registry is ever contacted).

import { encodeDate, byteCompare } from '../core/output.mjs';
import { parseJsonArray, lines } from '../core/engine.mjs';

/** @typedef {import('../core/context.mjs').Ctx} Ctx */
/** An engine `image inspect` object (podman's or docker's). @typedef {Record<string, any>} EngineImage */

/**
 * ClientImage.normalizeReference: `alpine` -> `docker.io/library/alpine:latest`.
 * @param {string} ref
 */
export function splitReference(ref) {
  let rest = ref;
  /** @type {string | undefined} */
  let digest;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  /** @type {string | undefined} */
  let tag;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  let domain = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    parts.shift();
    domain = first;
  }
  let repository = parts.join('/');
  if (domain === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!tag && !digest) tag = 'latest';
  return { domain, repository, tag, digest };
}

/** @param {string} ref */
export function normalizeReference(ref) {
  const { domain, repository, tag, digest } = splitReference(ref);
  return `${domain}/${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
}

/** @param {string} ref */
export function denormalizeReference(ref) {
  if (ref.startsWith('docker.io/library/')) return ref.slice('docker.io/library/'.length);
  if (ref.startsWith('docker.io/')) return ref.slice('docker.io/'.length);
  return ref;
}

/**
 * The Apple reference for an engine tag; podman's `localhost/x` is what Apple calls docker.io/library/x.
 * @param {Ctx} ctx
 * @param {string} tag
 */
function appleReferenceFromEngine(ctx, tag) {
  if (!ctx.config.isDocker && tag.startsWith('localhost/')) return normalizeReference(tag.slice('localhost/'.length));
  return normalizeReference(tag);
}

/**
 * The engine names an Apple reference may have locally.
 * @param {Ctx} ctx
 * @param {string} ref
 */
export function engineCandidates(ctx, ref) {
  const normalized = normalizeReference(ref);
  const candidates = [ref, normalized];
  if (!ctx.config.isDocker) {
    if (normalized.startsWith('docker.io/library/')) candidates.push(`localhost/${normalized.slice('docker.io/library/'.length)}`);
    else if (normalized.startsWith('docker.io/')) candidates.push(`localhost/${normalized.slice('docker.io/'.length)}`);
  }
  return [...new Set(candidates)];
}

/**
 * Finds a local engine image for an Apple reference; null when the engine does not hold it.
 * @param {Ctx} ctx
 * @param {string} ref
 * @returns {{ engineRef: string, info: EngineImage, reference: string } | null}
 */
export function resolveImage(ctx, ref) {
  for (const candidate of engineCandidates(ctx, ref)) {
    const r = ctx.engine.run(['image', 'inspect', candidate]);
    if (r.code === 0) {
      const info = parseJsonArray(r.stdout)[0];
      if (info) return { engineRef: candidate, info, reference: normalizeReference(ref) };
    }
  }
  return null;
}

/**
 * The registry's 404 text of §4.2, without contacting any registry.
 * @param {string} ref
 */
export function pullFailureMessage(ref) {
  const { domain, repository, tag, digest } = splitReference(ref);
  const host = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
  const local = /^(localhost|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host);
  const scheme = local ? 'http' : 'https';
  return `HTTP request to ${scheme}://${host}/v2/${repository}/manifests/${digest ?? tag} failed with response: 404 Not Found. Reason: manifest unknown`;
}

/**
 * @param {Ctx} ctx
 * @param {EngineImage} info
 * @returns {{ digest: string, mediaType: string, size: number }}
 */
export function imageDescriptor(ctx, info) {
  if (ctx.config.isDocker) {
    const repoDigest = (info.RepoDigests ?? [])[0];
    return {
      digest: repoDigest ? repoDigest.split('@')[1] : info.Id,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: info.Size ?? 0,
    };
  }
  return {
    digest: info.Digest || `sha256:${info.Id}`,
    mediaType: info.ManifestType || 'application/vnd.oci.image.manifest.v1+json',
    size: info.Size ?? 0,
  };
}

/**
 * @param {EngineImage} info
 * @returns {{ architecture: string, os: string, variant: string | undefined }}
 */
export function imagePlatform(info) {
  return { architecture: info.Architecture || 'arm64', os: info.Os || 'linux', variant: info.Variant || undefined };
}

/**
 * The image's OCI process configuration, nil fields omitted.
 * @param {EngineImage} info
 * @returns {{ Env?: string[], Entrypoint?: string[], Cmd?: string[], WorkingDir?: string, User?: string, Labels?: Record<string, string>, StopSignal?: string }}
 */
export function imageProcessConfig(info) {
  const c = info.Config ?? {};
  return {
    Env: c.Env ?? undefined,
    Entrypoint: c.Entrypoint ?? undefined,
    Cmd: c.Cmd ?? undefined,
    WorkingDir: c.WorkingDir || undefined,
    User: c.User || undefined,
    Labels: c.Labels && Object.keys(c.Labels).length ? c.Labels : undefined,
    StopSignal: c.StopSignal || undefined,
  };
}

/** @param {EngineImage} info */
function ociImage(info) {
  const history = (info.History ?? []).map((/** @type {Record<string, any>} */ h) => ({
    created: h.created || undefined,
    created_by: h.created_by || undefined,
    author: h.author || undefined,
    comment: h.comment || undefined,
    empty_layer: h.empty_layer || undefined,
  }));
  const config = imageProcessConfig(info);
  return {
    created: info.Created || undefined,
    author: info.Author || undefined,
    architecture: info.Architecture || 'arm64',
    os: info.Os || 'linux',
    variant: info.Variant || undefined,
    config: Object.values(config).some((v) => v !== undefined) ? config : undefined,
    rootfs: { type: info.RootFS?.Type ?? 'layers', diff_ids: info.RootFS?.Layers ?? [] },
    history: history.length ? history : undefined,
  };
}

/**
 * An image as `image inspect` and `image list --format json` print it.
 * @param {Ctx} ctx
 * @param {string} reference
 * @param {EngineImage} info
 */
export function imageResource(ctx, reference, info) {
  const descriptor = imageDescriptor(ctx, info);
  const created = Date.parse(info.Created ?? '');
  const variant = { platform: imagePlatform(info), digest: descriptor.digest, size: info.Size ?? 0, config: ociImage(info) };
  if (ctx.release.has('json.managed-resources')) {
    return {
      id: descriptor.digest.replace(/^sha256:/, ''),
      configuration: { creationDate: encodeDate(ctx.release, Number.isNaN(created) ? 0 : created), name: reference, descriptor },
      variants: [variant],
    };
  }
  return { name: reference, index: descriptor, variants: [{ platform: variant.platform, config: variant.config, size: variant.size }] };
}

/**
 * All tagged engine images, sorted by reference.
 * @param {Ctx} ctx
 * @returns {{ reference: string, info: EngineImage }[]}
 */
export function listImages(ctx) {
  const ids = lines(ctx.engine.run(['image', 'ls', '-q', '--no-trunc']).stdout);
  if (ids.length === 0) return [];
  const infos = parseJsonArray(ctx.engine.run(['image', 'inspect', ...new Set(ids)]).stdout);
  /** @type {Map<string, { reference: string, info: EngineImage }>} */
  const images = new Map();
  for (const info of infos) {
    for (const tag of info.RepoTags ?? []) {
      if (!tag || tag.includes('<none>')) continue;
      const reference = appleReferenceFromEngine(ctx, tag);
      if (!images.has(reference)) images.set(reference, { reference, info });
    }
  }
  return [...images.values()].sort((a, b) => byteCompare(a.reference, b.reference));
}

/**
 * Decimal units, as ByteCountFormatter prints them.
 * @param {number} bytes
 */
export function formatSize(bytes) {
  if (bytes < 1000) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
}
