import type { FeatureOption } from './metadata.js';
import { isObject } from './metadata.js';

/** An option's problem, at a path under the feature's value in devcontainer.json (`[]`: the value itself). */
export interface OptionProblem {
  severity: 'error' | 'warning';
  at: string[];
  message: string;
}

/**
 * A feature's option values: its defaults, then what devcontainer.json gives (an object of
 * options; a string is the `version` option when there is one; true/false take the defaults), as
 * getFeatureValueObject does (src/spec-configuration/containerFeaturesConfiguration.ts@v0.88.0).
 * Unlike the reference, a value its option cannot take is an error here, not a surprise in install.sh.
 */
export function resolveOptions(declared: Record<string, FeatureOption>, value: unknown): { values: Record<string, string | boolean>; problems: OptionProblem[] } {
  const values: Record<string, string | boolean> = {};
  const problems: OptionProblem[] = [];
  for (const [name, option] of Object.entries(declared)) if (option.default !== null) values[name] = option.default;
  let given: Record<string, unknown> = {};
  if (isObject(value)) given = value;
  else if (typeof value === 'string') {
    if (declared['version'] !== undefined) given = { version: value };
    else problems.push({ severity: 'warning', at: [], message: `the feature has no "version" option, so the string ${JSON.stringify(value)} is ignored (as the reference does); give options as an object` });
  } else if (typeof value !== 'boolean') {
    problems.push({ severity: 'error', at: [], message: 'a feature\'s value is an object of options, a version string, or true' });
  }
  for (const [name, raw] of Object.entries(given)) {
    const option = declared[name];
    let v: string | boolean;
    if (typeof raw === 'string' || typeof raw === 'boolean') v = raw;
    else if (typeof raw === 'number' && Number.isFinite(raw)) v = String(raw);
    else {
      problems.push({ severity: 'error', at: [name], message: `an option's value is a string or a boolean, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}` });
      continue;
    }
    if (option === undefined) {
      const known = Object.keys(declared);
      problems.push({ severity: 'warning', at: [name], message: `the feature declares no option "${name}" (${known.length > 0 ? `it has: ${known.join(', ')}` : 'it has none'}); passed to install.sh as ${envName(name)} anyway, as the reference does` });
    } else if (option.type === 'boolean') {
      if (v === 'true' || v === 'false') v = v === 'true';
      if (typeof v !== 'boolean') {
        problems.push({ severity: 'error', at: [name], message: `"${name}" is a boolean option: true or false, got ${JSON.stringify(v)}` });
        continue;
      }
    } else {
      if (typeof v === 'boolean') v = String(v);
      if (option.enum !== null && !option.enum.includes(v)) {
        problems.push({ severity: 'error', at: [name], message: `"${name}" is one of ${option.enum.map((e) => JSON.stringify(e)).join(', ')}; got ${JSON.stringify(v)}` });
        continue;
      }
    }
    values[name] = v;
  }
  return { values, problems };
}

/** An option's variable for install.sh: getSafeId (src/spec-node/containerFeatures.ts@v0.88.0). */
export function envName(option: string): string {
  return option.replace(/[^\w_]/g, '_').replace(/^[\d_]+/g, '_').toUpperCase();
}

/**
 * devcontainer-features.env: `NAME=value` lines install.sh's wrapper sources with `set -a`. The
 * reference writes `NAME="value"` unescaped (a `"` or `$(...)` in a value runs in the build); here
 * every value is single-quoted, so it arrives as written.
 */
export function envFileText(values: Record<string, string | boolean>): string {
  return Object.entries(values)
    .map(([name, value]) => `${envName(name)}=${shellQuote(String(value))}`)
    .join('\n');
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
