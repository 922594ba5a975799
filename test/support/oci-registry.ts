import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/process/run.js';

/**
 * A tiny OCI registry on loopback for the features tests (there is no registry, nor internet, on
 * the test machines): the distribution API's pull side (manifest by tag or digest, blob by digest)
 * and its monolithic push (POST an upload, PUT it with ?digest=, PUT the manifest), which is how
 * a feature gets in, as `devcontainer features publish` puts one. With `token: true` every /v2
 * request first answers 401 with a Bearer challenge, and /token hands out an anonymous token: the
 * flow ghcr.io makes clients go through. Bound to port 0; `host` says where it ended up.
 */
export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  /** Every request's method and path, in order. */
  requests: string[];
  /** Publishes a feature folder as the reference packs it (a plain tar of `.`), returns the manifest digest. */
  pushFeature(repository: string, tag: string, folder: string): Promise<string>;
  /** Stops answering (the offline case) without forgetting what it holds. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startTestRegistry(options: { token?: boolean } = {}): Promise<TestRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; digest: string }>();
  const uploads = new Set<string>();
  const requests: string[] = [];
  const token = randomUUID();
  let down = false;
  let host = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    requests.push(`${req.method ?? ''} ${url.pathname}`);
    const body = await readBody(req);
    if (down) return void res.writeHead(503).end();
    if (url.pathname === '/token') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ token }));
    }
    if (!url.pathname.startsWith('/v2/')) return void res.writeHead(404).end();
    if (options.token && req.headers.authorization !== `Bearer ${token}`) {
      const scope = /^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry",scope="repository:${scope}:pull,push"` });
      return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED' }] }));
    }
    if (url.pathname === '/v2/') return void res.writeHead(200).end('{}');
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
    if (upload && req.method === 'POST') {
      const id = randomUUID();
      uploads.add(id);
      res.writeHead(202, { location: `/v2/${upload[1] ?? ''}/blobs/uploads/${id}` });
      return void res.end();
    }
    if (upload && req.method === 'PUT' && uploads.has(upload[2] ?? '')) {
      const digest = url.searchParams.get('digest') ?? '';
      if (digest !== `sha256:${sha256(body)}`) return void res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
      blobs.set(digest, body);
      uploads.delete(upload[2] ?? '');
      res.writeHead(201, { location: `/v2/${upload[1] ?? ''}/blobs/${digest}`, 'docker-content-digest': digest });
      return void res.end();
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest && req.method === 'PUT') {
      const digest = `sha256:${sha256(body)}`;
      manifests.set(`${manifest[1] ?? ''}:${manifest[2] ?? ''}`, { body, digest });
      manifests.set(`${manifest[1] ?? ''}:${digest}`, { body, digest });
      res.writeHead(201, { 'docker-content-digest': digest });
      return void res.end();
    }
    if (manifest && (req.method === 'GET' || req.method === 'HEAD')) {
      const found = manifests.get(`${manifest[1] ?? ''}:${manifest[2] ?? ''}`);
      if (!found) return void res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': found.digest, 'content-length': found.body.length });
      return void res.end(req.method === 'HEAD' ? undefined : found.body);
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (blob && req.method === 'GET') {
      const found = blobs.get(blob[2] ?? '');
      if (!found) return void res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': found.length });
      return void res.end(found);
    }
    res.writeHead(404).end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${String((server.address() as AddressInfo).port)}`;

  const push = async (path: string, init: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
    if (options.token) headers['authorization'] = `Bearer ${token}`;
    const response = await fetch(`http://${host}${path}`, { ...init, headers });
    if (response.status >= 300) throw new Error(`push ${path}: ${String(response.status)}`);
    return response;
  };
  const pushBlob = async (repository: string, data: Buffer): Promise<string> => {
    const digest = `sha256:${sha256(data)}`;
    const started = await push(`/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    const location = started.headers.get('location') ?? '';
    await push(`${location}?digest=${encodeURIComponent(digest)}`, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
    return digest;
  };

  return {
    host,
    requests,
    async pushFeature(repository, tag, folder) {
      const scratch = mkdtempSync(join(tmpdir(), 'berth-registry-'));
      try {
        const file = join(scratch, 'feature.tar');
        await run(['tar', '-cf', file, '-C', folder, '.']);
        const layer = readFileSync(file);
        const metadata = readFileSync(join(folder, 'devcontainer-feature.json'), 'utf8');
        const config = Buffer.from('{}');
        const layerDigest = await pushBlob(repository, layer);
        const configDigest = await pushBlob(repository, config);
        // The manifest the reference publishes (containerCollectionsOCIPush.ts@v0.88.0).
        const manifest = {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.devcontainers', digest: configDigest, size: config.length },
          layers: [{ mediaType: 'application/vnd.devcontainers.layer.v1+tar', digest: layerDigest, size: layer.length, annotations: { 'org.opencontainers.image.title': `devcontainer-feature-${repository.split('/').pop() ?? ''}.tgz` } }],
          annotations: { 'dev.containers.metadata': JSON.stringify(JSON.parse(metadata)), 'com.github.package.type': 'devcontainer_feature' },
        };
        const response = await push(`/v2/${repository}/manifests/${tag}`, { method: 'PUT', body: JSON.stringify(manifest), headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
        return response.headers.get('docker-content-digest') ?? '';
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
    setDown(value) {
      down = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
