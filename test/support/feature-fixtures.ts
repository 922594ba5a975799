import { readContribution, type FeatureContribution } from '../../src/devcontainer/features/contributions.js';
import type { FeaturesResolution, ResolvedFeature } from '../../src/devcontainer/features/resolve.js';

/** Resolved features made from their devcontainer-feature.json contributions alone, for planning tests. */

export const contribution = (json: Record<string, unknown>): FeatureContribution => {
  const result = readContribution(json);
  if ('errors' in result) throw new Error(JSON.stringify(result.errors));
  return result.contribution;
};

export const feature = (userId: string, json: Record<string, unknown>): ResolvedFeature =>
  ({ userId, contribution: contribution(json), metadata: { id: userId }, values: {}, contentHash: `sha256:${userId}`, consecutiveId: `${userId}_0` }) as unknown as ResolvedFeature;

export const resolution = (...features: ResolvedFeature[]): FeaturesResolution => ({ features, configMetadata: {}, mounts: [], warnings: [], notes: [], hash: features.map((f) => f.userId).join('+') });
