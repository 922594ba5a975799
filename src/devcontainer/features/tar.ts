import { mkdirSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * Unpacks an OCI feature layer: a plain tar (`application/vnd.devcontainers.layer.v1+tar`, as the
 * reference packs it with `tar -c .`). Only folders and regular files; a link, a device, an
 * absolute path or a `..` segment is refused, so a hostile layer cannot write outside `dest`.
 * Understands ustar prefixes, pax `path` records and GNU long names, which the packers emit.
 */
export function extractTar(archive: Buffer, dest: string): string[] {
  const files: string[] = [];
  let offset = 0;
  let longName: string | null = null;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    const bodyStart = offset + 512;
    const body = archive.subarray(bodyStart, bodyStart + size);
    if (body.length < size) throw new Error('the layer is cut off (a tar entry is shorter than its header says)');
    offset = bodyStart + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      longName = paxPath(body) ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    if (type === 'g') continue;
    const prefix = cString(header.subarray(345, 500));
    const name = longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    longName = null;
    const relative = safeRelative(name);
    if (relative === '') continue;
    const mode = parseOctal(header.subarray(100, 108));
    if (type === '5') mkdirSync(join(dest, relative), { recursive: true });
    else if (type === '0' || type === '\0' || type === '7') {
      mkdirSync(join(dest, posix.dirname(relative)), { recursive: true });
      writeFileSync(join(dest, relative), body, { mode: mode & 0o111 ? 0o755 : 0o644 });
      files.push(relative);
    } else throw new Error(`the layer holds ${name}, a ${type === '1' || type === '2' ? 'link' : `tar entry of type "${type}"`}; a feature is folders and regular files`);
  }
  return files;
}

/** `./a/b` -> `a/b`; refuses what would leave the destination. */
function safeRelative(name: string): string {
  const normalized = posix.normalize(name.replace(/\\/g, '/'));
  if (posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) {
    throw new Error(`the layer holds ${JSON.stringify(name)}, a path outside the feature's folder`);
  }
  return normalized === '.' || normalized === './' ? '' : normalized.replace(/\/$/, '');
}

function parseOctal(field: Buffer): number {
  const text = cString(field).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`a tar header holds ${JSON.stringify(text)} where an octal number belongs`);
  return parseInt(text, 8);
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** pax records: `<length> key=value\n`. */
function paxPath(body: Buffer): string | null {
  let offset = 0;
  let found: string | null = null;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number(body.subarray(offset, space).toString('utf8'));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') found = record.slice(eq + 1);
    offset += length;
  }
  return found;
}
