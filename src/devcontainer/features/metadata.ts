import { parseJsonc } from '../jsonc.js';
import type { DevcontainerProblem } from '../problems.js';
import { readContribution } from './contributions.js';

/**
 * A feature's devcontainer-feature.json, as far as installing it goes (containers.dev
 * implementors/features; SchemaFeatureBaseProperties in
 * src/spec-configuration/containerFeaturesConfiguration.ts@v0.88.0).
 */
export interface FeatureMetadata {
  id: string;
  version: string | null;
  name: string | null;
  description: string | null;
  documentationURL: string | null;
  options: Record<string, FeatureOption>;
  containerEnv: Record<string, string>;
  installsAfter: string[];
  dependsOn: Record<string, unknown>;
  legacyIds: string[];
  /** The keys the image's devcontainer.metadata label keeps for each feature, as written. */
  contributed: Record<string, unknown>;
}

export type FeatureOption =
  | { type: 'boolean'; default: boolean | null; description: string | null }
  | { type: 'string'; default: string | null; enum: string[] | null; proposals: string[] | null; description: string | null };

/** pickFeatureProperties (src/spec-node/imageMetadata.ts@v0.88.0): what a feature adds to the container. */
export const CONTRIBUTED_KEYS = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand', 'init', 'privileged', 'capAdd', 'securityOpt', 'entrypoint', 'mounts', 'customizations'] as const;

export function parseFeatureMetadata(text: string, file: string): { metadata: FeatureMetadata | null; problems: DevcontainerProblem[] } {
  const parsed = parseJsonc(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, file);
  if (!parsed.ok) return { metadata: null, problems: parsed.problems };
  const { document } = parsed;
  const value = document.value as Record<string, unknown>;
  const problems: DevcontainerProblem[] = [];
  const error = (path: (string | number)[], message: string): void => {
    problems.push({ severity: 'error', file, ...document.locate(path), path: path.map(String).join('.'), message });
  };
  const str = (key: string): string | null => {
    const v = value[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') {
      error([key], 'must be a string');
      return null;
    }
    return v;
  };
  /** `v` as an array of strings, or null after an error at `path`. */
  const stringArray = (v: unknown, path: (string | number)[]): string[] | null => {
    if (Array.isArray(v) && v.every((item) => typeof item === 'string')) return v;
    error(path, 'must be an array of strings');
    return null;
  };
  const strings = (key: string): string[] => {
    const v = value[key];
    return v === undefined || v === null ? [] : (stringArray(v, [key]) ?? []);
  };
  const id = str('id');
  if (id === null || id === '') error(['id'], 'a feature needs an "id"');

  const options: Record<string, FeatureOption> = {};
  const rawOptions = value['options'];
  if (rawOptions !== undefined && rawOptions !== null) {
    if (!isObject(rawOptions)) error(['options'], 'must be an object of option name: { type, default, ... }');
    else
      for (const [name, spec] of Object.entries(rawOptions)) {
        if (!isObject(spec)) {
          error(['options', name], 'must be an object ({ "type": "string" | "boolean", "default": ... })');
          continue;
        }
        const description = typeof spec['description'] === 'string' ? spec['description'] : null;
        if (spec['type'] === 'boolean') {
          if (spec['default'] !== undefined && typeof spec['default'] !== 'boolean') error(['options', name, 'default'], 'a boolean option\'s default is true or false');
          options[name] = { type: 'boolean', default: typeof spec['default'] === 'boolean' ? spec['default'] : null, description };
        } else if (spec['type'] === 'string') {
          const list = (key: string): string[] | null => (spec[key] === undefined ? null : stringArray(spec[key], ['options', name, key]));
          if (spec['default'] !== undefined && typeof spec['default'] !== 'string') error(['options', name, 'default'], 'a string option\'s default is a string');
          options[name] = { type: 'string', default: typeof spec['default'] === 'string' ? spec['default'] : null, enum: list('enum'), proposals: list('proposals'), description };
        } else error(['options', name, 'type'], 'an option\'s type is "string" or "boolean"');
      }
  }

  const containerEnv: Record<string, string> = {};
  const rawEnv = value['containerEnv'];
  if (rawEnv !== undefined && rawEnv !== null) {
    if (!isObject(rawEnv)) error(['containerEnv'], 'must be an object of name: value');
    else
      for (const [key, v] of Object.entries(rawEnv)) {
        if (typeof v !== 'string') error(['containerEnv', key], 'must be a string');
        else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) error(['containerEnv', key], 'is not a variable name');
        else containerEnv[key] = v;
      }
  }
  const dependsOn = value['dependsOn'];
  if (dependsOn !== undefined && !isObject(dependsOn)) error(['dependsOn'], 'must be an object of feature id: options');

  const contributed: Record<string, unknown> = {};
  for (const key of CONTRIBUTED_KEYS) if (value[key] !== undefined) contributed[key] = value[key];
  const contribution = readContribution(contributed);
  if ('errors' in contribution) for (const e of contribution.errors) error(e.at, e.message);

  const metadata: FeatureMetadata = {
    id: id ?? '',
    version: str('version'),
    name: str('name'),
    description: str('description'),
    documentationURL: str('documentationURL'),
    options,
    containerEnv,
    installsAfter: strings('installsAfter'),
    dependsOn: isObject(dependsOn) ? { ...dependsOn } : {},
    legacyIds: strings('legacyIds'),
    contributed,
  };
  return { metadata: problems.length > 0 ? null : metadata, problems };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
