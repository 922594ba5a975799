/** `container CLI version 1.2.2 (build: release, commit: 1a2b3c4)` → 1.2.2. */
export interface AppleVersion {
  text: string;
  major: number;
  minor: number;
  patch: number;
}

/** The range Berth has parsers for; outside it doctor warns (and Berth still tries). */
export const SUPPORTED_APPLE_VERSIONS = { min: '0.1.0', max: '1.4.99' } as const;

export function parseAppleVersion(output: string): AppleVersion | undefined {
  const match = /version (\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!match) return undefined;
  const [, major, minor, patch] = match.map(Number) as [number, number, number, number];
  return { text: `${String(major)}.${String(minor)}.${String(patch)}`, major, minor, patch };
}

/** True when `version` is at least `wanted` (`"1.0.0"`). */
export function atLeast(version: AppleVersion, wanted: string): boolean {
  const [major = 0, minor = 0, patch = 0] = wanted.split('.').map(Number);
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.patch >= patch;
}

export function isSupported(version: AppleVersion): boolean {
  return atLeast(version, SUPPORTED_APPLE_VERSIONS.min) && !atLeast(version, '1.5.0');
}
