import type { FileEntry } from '../workspace/files.js';

type Json = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/**
 * `berth.files` through the daemon: the same names, arguments and results as the library's
 * (workspace/files.ts); bytes travel base64 in JSON (a file up to 48 MiB).
 */
export class ClientFiles {
  private readonly json: Json;

  constructor(json: Json) {
    this.json = json;
  }

  read(id: string, path: string, options: { encoding: 'buffer' }): Promise<Buffer>;
  read(id: string, path: string, options?: { encoding?: 'utf8' | undefined }): Promise<string>;
  read(id: string, path: string, options?: { encoding?: 'utf8' | 'buffer' | undefined }): Promise<string | Buffer>;
  async read(id: string, path: string, options: { encoding?: 'utf8' | 'buffer' | undefined } = {}): Promise<string | Buffer> {
    const { content } = await this.json<{ content: string }>('GET', `${base(id)}?${new URLSearchParams({ path }).toString()}`);
    const bytes = Buffer.from(content, 'base64');
    return options.encoding === 'buffer' ? bytes : bytes.toString('utf8');
  }

  async write(id: string, path: string, data: string | Uint8Array): Promise<void> {
    await this.json('PUT', `${base(id)}?${new URLSearchParams({ path }).toString()}`, { content: Buffer.from(data).toString('base64') });
  }

  list(id: string, path = '/workspace', options: { recursive?: boolean | undefined; limit?: number | undefined } = {}): Promise<FileEntry[]> {
    const query = new URLSearchParams({ path, ...(options.recursive ? { recursive: 'true' } : {}), ...(options.limit === undefined ? {} : { limit: String(options.limit) }) });
    return this.json('GET', `${base(id)}/list?${query.toString()}`);
  }

  async remove(id: string, path: string, options: { recursive?: boolean | undefined } = {}): Promise<void> {
    await this.json('DELETE', `${base(id)}?${new URLSearchParams({ path, ...(options.recursive ? { recursive: 'true' } : {}) }).toString()}`);
  }
}

function base(id: string): string {
  return `/workspaces/${encodeURIComponent(id)}/files`;
}
