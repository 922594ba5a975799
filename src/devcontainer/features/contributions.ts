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

/** A hook as merged: whose it is (a feature's id as named, or null for the devcontainer.json's own). */
export interface MergedHook {
  origin: string | null;
  hook: Hook;
}

export interface MergedContributions {
  run: RunOptions;
  entrypoints: string[];
  hooks: Partial<Record<HookName, MergedHook[]>>;
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
 * The features' contributions (in install order) merged with the devcontainer.json's own, as
 * mergeConfiguration does: `init` and `privileged` if any asks, `capAdd` and `securityOpt` the
 * union, the entrypoints each feature's in order, a lifecycle hook every feature's of that kind in
 * install order and then the config's (mergeLifecycleHooks; the config's entry is the label's last).
 */
export function mergeContributions(features: readonly { userId: string; contribution: FeatureContribution }[], config: { run: RunOptions; hooks: Partial<Record<HookName, Hook>> }): MergedContributions {
  const union = (lists: string[][]): string[] => [...new Set(lists.flat())];
  const run: RunOptions = {
    ...config.run,
    capAdd: union([...features.map((f) => f.contribution.capAdd), config.run.capAdd]),
    securityOpt: union([...features.map((f) => f.contribution.securityOpt), config.run.securityOpt]),
    privileged: config.run.privileged || features.some((f) => f.contribution.privileged),
    init: config.run.init || features.some((f) => f.contribution.init),
  };
  const hooks: Partial<Record<HookName, MergedHook[]>> = {};
  for (const name of CONTAINER_HOOKS) {
    const merged: MergedHook[] = features.flatMap((f) => {
      const hook = f.contribution.hooks[name];
      return hook ? [{ origin: f.userId, hook }] : [];
    });
    const own = config.hooks[name];
    if (own) merged.push({ origin: null, hook: own });
    if (merged.length > 0) hooks[name] = merged;
  }
  return { run, entrypoints: features.flatMap((f) => (f.contribution.entrypoint === null ? [] : [f.contribution.entrypoint])), hooks };
}
