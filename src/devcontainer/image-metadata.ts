import { readContribution, type ImageContribution } from './features/contributions.js';
import { CONTAINER_HOOKS } from './lifecycle.js';
import { substituteValue, type SubstitutionContext } from './substitute.js';

/**
 * The base image's `devcontainer.metadata` label, read as the reference reads it
 * (internalGetImageMetadata0 and getImageMetadata, src/spec-node/imageMetadata.ts@v0.88.0): a JSON
 * array of entries (or one object), each an image's, a feature's or a devcontainer.json's share of
 * the configuration; the `mcr.microsoft.com/devcontainers/*` images set their user this way.
 * What Berth applies goes to mergeContributions (image entries first); a key it does not apply is
 * a note, a malformed label or entry a warning, and ignored: an image's label never stops an up.
 *
 * Variables are substituted as in the config, except `${localEnv:X}`: an image is not the
 * user's file, and its label does not get to copy this machine's environment into the container
 * (the reference substitutes it; Berth leaves such variables empty, or their default).
 */
export interface ImageMetadata {
  entries: ImageContribution[];
  notes: string[];
}

/** Keys of an entry Berth applies (the feature keys readContribution reads, the users and env). */
const APPLIED = new Set<string>(['id', 'remoteUser', 'containerUser', 'containerEnv', 'remoteEnv', 'capAdd', 'securityOpt', 'privileged', 'init', 'entrypoint', ...CONTAINER_HOOKS]);
/** Editor settings: for the tools that attach an editor, nothing Berth runs (the config's are read the same way). */
const SILENT = new Set<string>(['customizations']);

export function readImageMetadata(label: string | undefined, image: string, context: Omit<SubstitutionContext, 'env'>): ImageMetadata {
  const notes: string[] = [];
  if (label === undefined || label.trim() === '') return { entries: [], notes };
  const warn = (what: string): void => void notes.push(`warning: the image ${image}'s devcontainer.metadata label ${what}; ignored`);
  let value: unknown;
  try {
    value = JSON.parse(label);
  } catch (error) {
    warn(`is not JSON (${(error as Error).message})`);
    return { entries: [], notes };
  }
  if (value === null || typeof value !== 'object') {
    warn('is neither an array of entries nor an object');
    return { entries: [], notes };
  }
  const raw = Array.isArray(value) ? (value as unknown[]) : [value];
  const substitution: SubstitutionContext = { ...context, env: {} };
  const entries: ImageContribution[] = [];
  const unapplied = new Set<string>();
  raw.forEach((item, index) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return warn(`entry ${String(index)} is not an object`);
    const entry = substituteValue(item, substitution) as Record<string, unknown>;
    for (const key of Object.keys(entry)) if (!APPLIED.has(key) && !SILENT.has(key)) unapplied.add(key);
    const problems: string[] = [];
    const read = readContribution(entry);
    if ('errors' in read) problems.push(...read.errors.map((e) => `${e.at.join('.')} ${e.message}`));
    const user = (key: 'remoteUser' | 'containerUser'): string | null => {
      const v = entry[key];
      if (v === undefined || v === null || v === '') return null;
      if (typeof v === 'string') return v;
      problems.push(`${key} must be a string`);
      return null;
    };
    const env = <T extends string | null>(key: 'containerEnv' | 'remoteEnv', allowNull: boolean): Record<string, T> => {
      const v = entry[key];
      if (v === undefined || v === null) return {};
      if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string' || (allowNull && x === null))) return v as Record<string, T>;
      problems.push(`${key} must be an object of strings`);
      return {};
    };
    const remoteUser = user('remoteUser');
    const containerUser = user('containerUser');
    const containerEnv = env<string>('containerEnv', false);
    const remoteEnv = env<string | null>('remoteEnv', true);
    if (problems.length > 0 || 'errors' in read) return warn(`entry ${String(index)} is not what the spec says (${problems.join('; ')})`);
    const origin = typeof entry['id'] === 'string' && entry['id'] !== '' ? entry['id'] : image;
    entries.push({ origin, contribution: read.contribution, remoteUser, containerUser, containerEnv, remoteEnv });
  });
  if (unapplied.size > 0) notes.push(`the image ${image}'s devcontainer.metadata label sets ${[...unapplied].sort().join(', ')}: Berth does not apply ${unapplied.size === 1 ? 'it' : 'them'} from an image (set it in devcontainer.json where Berth supports it)`);
  return { entries, notes };
}
