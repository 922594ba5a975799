import { CONTAINER_HOOKS, parseHook, type Hook, type HookName } from '../lifecycle.js';
import type { RunOptions } from '../run-args.js';

/**
 * What a feature adds to the container beyond its install: the keys of its
 * devcontainer-feature.json the reference merges into the configuration (pickFeatureProperties and
 * mergeConfiguration, src/spec-node/imageMetadata.ts@v0.88.0). Mounts are read elsewhere.
 */
export interface FeatureContribution {
  capAdd: string[];
  securityOpt: string[];
  privileged: boolean;
  init: boolean;
  /** A shell line run by the container's main process at every start. */
  entrypoint: string | null;
  hooks: Partial<Record<HookName, Hook>>;
}

/**
 * A hook as merged: whose it is (a feature's id as named, or null for the devcontainer.json's own).
 * `image`: it came from the base image's devcontainer.metadata label (origin: the entry's id, else the image).
 */
export interface MergedHook {
  origin: string | null;
  hook: Hook;
  image?: true;
}

/**
 * One entry of the base image's devcontainer.metadata label (devcontainer/image-metadata.ts): what a
 * feature contributes, plus the keys only a devcontainer.json (or an image built from one) sets.
 */
export interface ImageContribution {
  origin: string;
  contribution: FeatureContribution;
  remoteUser: string | null;
  containerUser: string | null;
  containerEnv: Record<string, string>;
  remoteEnv: Record<string, string | null>;
}

/** What the devcontainer.json itself says, for the merge. */
export interface ConfigContribution {
  run: RunOptions;
  hooks: Partial<Record<HookName, Hook>>;
  remoteUser?: string | null | undefined;
  containerUser?: string | null | undefined;
  containerEnv?: Record<string, string> | undefined;
  remoteEnv?: Record<string, string | null> | undefined;
}

export interface MergedContributions {
  run: RunOptions;
  entrypoints: string[];
  hooks: Partial<Record<HookName, MergedHook[]>>;
  /** The last entry's that names one (the config is the last entry); null: none does. */
  remoteUser: string | null;
  containerUser: string | null;
  /** Every entry's, later ones winning per key. */
  containerEnv: Record<string, string>;
  remoteEnv: Record<string, string | null>;
}

/** A feature's contributions, or each reason they are not what the spec says they are (with the key's path). */
export function readContribution(contributed: Readonly<Record<string, unknown>>): { contribution: FeatureContribution } | { errors: { at: (string | number)[]; message: string }[] } {
  const errors: { at: (string | number)[]; message: string }[] = [];
  const strings = (key: string): string[] => {
    const value = contributed[key];
    if (value === undefined || value === null) return [];
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
    errors.push({ at: [key], message: 'must be an array of strings' });
    return [];
  };
  const flag = (key: string): boolean => {
    const value = contributed[key];
    if (value === undefined || value === null || typeof value === 'boolean') return value === true;
    errors.push({ at: [key], message: 'must be true or false' });
    return false;
  };
  const entrypoint = contributed['entrypoint'];
  if (entrypoint !== undefined && entrypoint !== null && typeof entrypoint !== 'string') errors.push({ at: ['entrypoint'], message: 'must be a string (a command the container runs at start)' });
  const hooks: Partial<Record<HookName, Hook>> = {};
  for (const name of CONTAINER_HOOKS) {
    const parsed = parseHook(contributed[name]);
    if ('error' in parsed) errors.push({ at: [name, ...parsed.at], message: parsed.error });
    else if (parsed.hook !== null) hooks[name] = parsed.hook;
  }
  const contribution: FeatureContribution = {
    capAdd: strings('capAdd'),
    securityOpt: strings('securityOpt'),
    privileged: flag('privileged'),
    init: flag('init'),
    entrypoint: typeof entrypoint === 'string' && entrypoint.trim() !== '' ? entrypoint : null,
    hooks,
  };
  return errors.length > 0 ? { errors } : { contribution };
}

/**
 * The base image's label entries, then the features' contributions (in install order), then the
 * devcontainer.json's own, merged as mergeConfiguration does (src/spec-node/imageMetadata.ts@v0.88.0):
 * `init` and `privileged` if any asks, `capAdd` and `securityOpt` the union, the entrypoints each
 * entry's in order, a lifecycle hook every entry's of that kind in that order (mergeLifecycleHooks;
 * the config's entry is the label's last), remoteUser/containerUser the last entry's that sets one
 * (so the devcontainer.json wins over the image), containerEnv/remoteEnv merged, later keys winning.
 * Features set no users or env here (their containerEnv is ENV in the features image).
 */
export function mergeContributions(features: readonly { userId: string; contribution: FeatureContribution }[], config: ConfigContribution, image: readonly ImageContribution[] = []): MergedContributions {
  const union = (lists: string[][]): string[] => [...new Set(lists.flat())];
  const entries = [...image.map((e) => ({ origin: e.origin, contribution: e.contribution, image: true as const })), ...features.map((f) => ({ origin: f.userId, contribution: f.contribution, image: undefined }))];
  const run: RunOptions = {
    ...config.run,
    capAdd: union([...entries.map((e) => e.contribution.capAdd), config.run.capAdd]),
    securityOpt: union([...entries.map((e) => e.contribution.securityOpt), config.run.securityOpt]),
    privileged: config.run.privileged || entries.some((e) => e.contribution.privileged),
    init: config.run.init || entries.some((e) => e.contribution.init),
  };
  const hooks: Partial<Record<HookName, MergedHook[]>> = {};
  for (const name of CONTAINER_HOOKS) {
    const merged: MergedHook[] = entries.flatMap((e) => {
      const hook = e.contribution.hooks[name];
      return hook ? [{ origin: e.origin, hook, ...(e.image ? { image: e.image } : {}) }] : [];
    });
    const own = config.hooks[name];
    if (own) merged.push({ origin: null, hook: own });
    if (merged.length > 0) hooks[name] = merged;
  }
  // The reference's `reversed.find(entry => entry.remoteUser)`: an empty name is no name.
  const last = (key: 'remoteUser' | 'containerUser'): string | null => {
    const own = config[key];
    if (own !== undefined && own !== null && own !== '') return own;
    return [...image].reverse().find((e) => e[key] !== null && e[key] !== '')?.[key] ?? null;
  };
  return {
    run,
    entrypoints: entries.flatMap((e) => (e.contribution.entrypoint === null ? [] : [e.contribution.entrypoint])),
    hooks,
    remoteUser: last('remoteUser'),
    containerUser: last('containerUser'),
    containerEnv: Object.assign({}, ...image.map((e) => e.containerEnv), config.containerEnv) as Record<string, string>,
    remoteEnv: Object.assign({}, ...image.map((e) => e.remoteEnv), config.remoteEnv) as Record<string, string | null>,
  };
}
