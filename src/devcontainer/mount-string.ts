/**
 * A devcontainer mount: `mounts` entries are docker's `--mount` syntax as a string
 * (`source=x,target=/y,type=bind,readonly`) or an object `{ source, target, type }`
 * (containers.dev json_reference, `mounts`); `workspaceMount` is the string form.
 */
export interface DevcontainerMount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** A host path (bind), a volume name (volume; absent: anonymous), absent for tmpfs. */
  source: string | null;
  target: string;
  readOnly: boolean;
}

export type MountResult = { mount: DevcontainerMount; ignored: string[] } | { error: string };

const TYPES = new Set(['bind', 'volume', 'tmpfs']);

/** Options Berth does not carry over: consistency is a no-op on Linux, the rest tune a volume driver. */
const IGNORABLE = new Set(['bind-propagation', 'volume-nocopy', 'volume-driver', 'volume-opt', 'tmpfs-size', 'tmpfs-mode', 'bind-nonrecursive', 'z', 'Z']);

export function parseMountString(text: string): MountResult {
  const fields = splitFields(text);
  let type: string | undefined;
  let source: string | null = null;
  let target: string | undefined;
  let readOnly = false;
  const ignored: string[] = [];
  for (const quoted of fields) {
    const field = unquote(quoted);
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? null : field.slice(eq + 1).trim();
    switch (key) {
      case 'type':
        type = value ?? '';
        break;
      case 'source':
      case 'src':
        source = value;
        break;
      case 'target':
      case 'destination':
      case 'dst':
        target = value ?? undefined;
        break;
      case 'readonly':
      case 'ro':
        readOnly = value === null || value === 'true' || value === '1';
        break;
      case '':
        break;
      case 'consistency':
        // macOS-only tuning, a no-op where Berth's engines run: not worth a warning in every file.
        break;
      default:
        if (!IGNORABLE.has(key)) return { error: `unknown mount option "${key}"` };
        ignored.push(key);
    }
  }
  return finish({ type: type ?? 'volume', source, target, readOnly }, ignored);
}

export function parseMountObject(value: Record<string, unknown>): MountResult {
  const { type, source, target } = value;
  if (typeof target !== 'string') return { error: 'a mount object needs "target" (a path in the container)' };
  if (source !== undefined && typeof source !== 'string') return { error: '"source" is a string' };
  if (type !== undefined && typeof type !== 'string') return { error: '"type" is bind, volume or tmpfs' };
  const ignored = Object.keys(value).filter((key) => !['type', 'source', 'target'].includes(key));
  // The object form has no read-only key in the spec; docker's long syntax does, so honour it if given.
  const readOnly = value['readOnly'] === true || value['readonly'] === true;
  return finish({ type: type ?? 'volume', source: source ?? null, target, readOnly }, ignored.filter((key) => key !== 'readOnly' && key !== 'readonly'));
}

function finish(raw: { type: string; source: string | null; target: string | undefined; readOnly: boolean }, ignored: string[]): MountResult {
  if (!TYPES.has(raw.type)) return { error: `mount type "${raw.type}" is not bind, volume or tmpfs` };
  if (raw.target === undefined || raw.target === '') return { error: 'a mount needs a target (target=/path/in/container)' };
  if (!raw.target.startsWith('/')) return { error: `the mount target ${JSON.stringify(raw.target)} is not an absolute path` };
  if (raw.type === 'bind' && (raw.source === null || raw.source === '')) return { error: 'a bind mount needs a source (source=/host/path)' };
  return { mount: { type: raw.type as DevcontainerMount['type'], source: raw.type === 'tmpfs' ? null : raw.source === '' ? null : raw.source, target: raw.target, readOnly: raw.readOnly }, ignored };
}

/** docker's --mount is CSV: a field may be double-quoted to hold a comma. */
function splitFields(text: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  return fields.map((f) => f.trim()).filter((f) => f !== '');
}

function unquote(text: string): string {
  return text.replace(/"/g, '');
}
