import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../errors.js';
import type { OciFeatureRef } from './reference.js';
import { extractTar } from './tar.js';

/**
 * Pulls a feature over the OCI distribution API as the reference does
 * (src/spec-configuration/containerCollectionsOCI.ts and httpOCIRegistry.ts@v0.88.0): the manifest
 * by tag or digest (its config's media type must be `application/vnd.devcontainers`), then its
 * first layer (a plain tar) by digest, each checked against its sha256. A 401 with a Bearer
 * challenge gets an anonymous token from the realm (`?service=&scope=`), then the request again.
 * HTTPS only, except a registry on loopback (a test's or a local mirror), which may be plain HTTP.
 *
 * Cached by manifest digest under `cacheDir`, with the digest each tag last had: offline, a tag
 * fetched before resolves to that content (a note says so) instead of failing.
 */
export const FEATURE_CONFIG_MEDIA_TYPE = 'application/vnd.devcontainers';
export const FEATURE_LAYER_MEDIA_TYPE = 'application/vnd.devcontainers.layer.v1+tar';

/** A feature is a few KB; anything near this is not one. */
const MAX_LAYER_BYTES = 64 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const TIMEOUT_MS = 30_000;

export interface PulledFeature {
  /** The unpacked feature folder. */
  dir: string;
  manifestDigest: string;
  /** Set when the registry could not be reached and the cache answered. */
  offlineNote: string | null;
}

/**
 * The feature from the cache alone, never the network (a listing's drift check): by the digest the
 * lockfile pins, else by the digest its tag had when last pulled. null when neither is cached.
 */
export function cachedOciFeature(ref: OciFeatureRef, cacheDir: string): PulledFeature | null {
  const digest = ref.digest ?? readKnownDigest(join(cacheDir, 'tags', sha256(`${ref.resource}:${ref.reference}`)));
  const dir = digest === null ? null : cachedDir(cacheDir, digest);
  return digest === null || dir === null ? null : { dir, manifestDigest: digest, offlineNote: null };
}

function readKnownDigest(tagFile: string): string | null {
  return existsSync(tagFile) ? readFileSync(tagFile, 'utf8').trim() : null;
}

export async function pullOciFeature(ref: OciFeatureRef, cacheDir: string): Promise<PulledFeature> {
  const tagFile = join(cacheDir, 'tags', sha256(`${ref.resource}:${ref.reference}`));
  if (ref.digest !== null) {
    const cached = cachedDir(cacheDir, ref.digest);
    if (cached) return { dir: cached, manifestDigest: ref.digest, offlineNote: null };
  }
  const client = new RegistryClient(ref);
  let manifestBody: Buffer;
  try {
    manifestBody = await client.get(`manifests/${ref.reference}`, 'application/vnd.oci.image.manifest.v1+json', MAX_MANIFEST_BYTES);
  } catch (cause) {
    const known = existsSync(tagFile) ? readFileSync(tagFile, 'utf8').trim() : null;
    const cached = known === null ? null : cachedDir(cacheDir, known);
    if (known !== null && cached !== null && cause instanceof BerthError && cause.code === 'E_RUNTIME_UNAVAILABLE') {
      return { dir: cached, manifestDigest: known, offlineNote: `${ref.userId}: ${ref.registry} could not be reached; installed the copy fetched before (${known.slice(0, 19)})` };
    }
    throw cause;
  }
  const manifestDigest = `sha256:${sha256(manifestBody)}`;
  if (ref.digest !== null && manifestDigest !== ref.digest) {
    throw new BerthError('E_INVALID_INPUT', `${ref.userId}: the registry sent a manifest whose digest is ${manifestDigest}.`, { hint: 'The registry or something between is not sending what the digest pins; check the registry.' });
  }
  const layer = parseManifest(manifestBody, ref);
  let dir = cachedDir(cacheDir, manifestDigest);
  if (dir === null) {
    const blob = await client.get(`blobs/${layer.digest}`, '*/*', MAX_LAYER_BYTES);
    if (`sha256:${sha256(blob)}` !== layer.digest) {
      throw new BerthError('E_INVALID_INPUT', `${ref.userId}: the layer the registry sent does not match its digest ${layer.digest}.`, { hint: 'Try again; if it persists, the registry serves corrupt content.' });
    }
    dir = unpack(cacheDir, manifestDigest, blob, ref);
  }
  mkdirSync(join(cacheDir, 'tags'), { recursive: true });
  writeFileSync(tagFile, manifestDigest);
  return { dir, manifestDigest, offlineNote: null };
}

function parseManifest(body: Buffer, ref: OciFeatureRef): { digest: string } {
  let manifest: unknown;
  try {
    manifest = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BerthError('E_INVALID_INPUT', `${ref.userId}: the registry's manifest is not JSON.`, { hint: 'Check the feature id: it names something that is not a devcontainer feature.' });
  }
  const m = manifest as { config?: { mediaType?: unknown }; layers?: { digest?: unknown; mediaType?: unknown }[] };
  if (m.config?.mediaType !== FEATURE_CONFIG_MEDIA_TYPE) {
    throw new BerthError('E_INVALID_INPUT', `${ref.userId} is not a devcontainer feature: its manifest's config is ${JSON.stringify(m.config?.mediaType ?? null)}, not ${FEATURE_CONFIG_MEDIA_TYPE}.`, { hint: 'Check the feature id (an image is not a feature).' });
  }
  const layer = m.layers?.[0];
  if (typeof layer?.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(layer.digest)) {
    throw new BerthError('E_INVALID_INPUT', `${ref.userId}: the manifest has no layer with a sha256 digest.`, { hint: 'The feature was not published as the spec describes; ask its author.' });
  }
  return { digest: layer.digest };
}

function cachedDir(cacheDir: string, manifestDigest: string): string | null {
  const dir = join(cacheDir, 'blobs', manifestDigest.replace(':', '-'));
  return existsSync(join(dir, '.complete')) ? join(dir, 'feature') : null;
}

/** Unpacked beside, then renamed: a crash or a concurrent pull never leaves half a feature in the cache. */
function unpack(cacheDir: string, manifestDigest: string, blob: Buffer, ref: OciFeatureRef): string {
  const final = join(cacheDir, 'blobs', manifestDigest.replace(':', '-'));
  const temp = `${final}.${randomUUID()}`;
  mkdirSync(join(temp, 'feature'), { recursive: true });
  try {
    extractTar(blob, join(temp, 'feature'));
    writeFileSync(join(temp, '.complete'), '');
    rmSync(final, { recursive: true, force: true });
    renameSync(temp, final);
  } catch (cause) {
    rmSync(temp, { recursive: true, force: true });
    if (cachedDir(cacheDir, manifestDigest)) return join(final, 'feature');
    throw new BerthError('E_INVALID_INPUT', `${ref.userId}: cannot unpack its layer: ${(cause as Error).message}.`, { hint: 'The feature is not a plain tar of files; ask its author.', cause });
  }
  return join(final, 'feature');
}

class RegistryClient {
  private authorization: string | null = null;
  private readonly base: string;
  private readonly ref: OciFeatureRef;

  constructor(ref: OciFeatureRef) {
    this.ref = ref;
    this.base = `${isLoopback(ref.registry) ? 'http' : 'https'}://${ref.registry}/v2/${ref.repository}/`;
  }

  async get(path: string, accept: string, maxBytes: number): Promise<Buffer> {
    let response = await this.request(this.base + path, accept);
    if (response.status === 401 && this.authorization === null) {
      const token = await this.anonymousToken(response.headers.get('www-authenticate'));
      if (token !== null) {
        this.authorization = `Bearer ${token}`;
        response = await this.request(this.base + path, accept);
      }
    }
    if (response.status !== 200) {
      const what = path.startsWith('manifests/') ? `the feature ${this.ref.userId}` : `a layer of ${this.ref.userId}`;
      const hint =
        response.status === 401 || response.status === 403
          ? 'Berth pulls features anonymously; a private feature is not reachable yet. Make the package public, or copy the feature beside devcontainer.json as "./name".'
          : 'Check the feature id and its tag (containers.dev/features lists the published ones).';
      throw new BerthError(response.status === 404 ? 'E_NOT_FOUND' : response.status >= 500 ? 'E_RUNTIME_UNAVAILABLE' : 'E_RUNTIME_FAILED', `${this.ref.registry} answered ${String(response.status)} for ${what}.`, { hint });
    }
    return readLimited(response, maxBytes, this.ref.userId);
  }

  private async request(url: string, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept, 'user-agent': 'berth' };
    if (this.authorization !== null) headers['authorization'] = this.authorization;
    try {
      return await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'follow' });
    } catch (cause) {
      throw new BerthError('E_RUNTIME_UNAVAILABLE', `Cannot reach ${this.ref.registry} for the feature ${this.ref.userId}: ${(cause as Error).message}.`, {
        hint: 'Check the network (or the registry); a feature fetched once before is installed from the cache while it is unreachable.',
        cause,
      });
    }
  }

  /** The anonymous side of the token flow (fetchRegistryBearerToken, httpOCIRegistry.ts@v0.88.0). */
  private async anonymousToken(challenge: string | null): Promise<string | null> {
    if (challenge === null || !/^bearer /i.test(challenge)) return null;
    const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
    const service = /service="([^"]+)"/.exec(challenge)?.[1];
    const scope = /scope="([^"]+)"/.exec(challenge)?.[1] ?? `repository:${this.ref.repository}:pull`;
    if (realm === undefined || service === undefined) return null;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      return null;
    }
    // A plain-HTTP token service only on loopback, as for the registry itself.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.host))) return null;
    url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const response = await fetch(url, { headers: { 'user-agent': 'berth' }, signal: AbortSignal.timeout(TIMEOUT_MS) }).catch(() => null);
    if (response?.status !== 200) return null;
    const body = (await response.json().catch(() => null)) as { token?: unknown; access_token?: unknown } | null;
    const token = body?.token ?? body?.access_token;
    return typeof token === 'string' && token !== '' ? token : null;
  }
}

async function readLimited(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  const length = Number(response.headers.get('content-length') ?? '0');
  if (length > maxBytes) throw new BerthError('E_INVALID_INPUT', `${what}: the registry sends ${String(length)} bytes; a feature is at most ${String(maxBytes)}.`, { hint: 'Check the feature id.' });
  const chunks: Buffer[] = [];
  let total = 0;
  if (response.body === null) return Buffer.alloc(0);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > maxBytes) throw new BerthError('E_INVALID_INPUT', `${what}: the registry sends more than ${String(maxBytes)} bytes; a feature is smaller.`, { hint: 'Check the feature id.' });
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** `127.0.0.1:5000`, `localhost:5000`, `[::1]:5000`: the registries plain HTTP is allowed for. */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
