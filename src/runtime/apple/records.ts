import { z } from 'zod';
import type { ContainerInfo, ContainerState, ImageInfo, Mount, NetworkInfo, PublishedPort, VolumeInfo } from '../types.js';

/**
 * Apple `container` JSON, 1.x and the legacy 0.x shapes (research doc §3.3–3.6), as far as Berth
 * reads it. Unknown fields are ignored (1.3 and 1.4 add some), optional ones may be missing.
 */

/** 1.x prints ISO 8601; 0.x a number of seconds since 2001-01-01T00:00:00Z. */
const appleDate = z.union([z.string(), z.number()]);
const SWIFT_EPOCH_MS = Date.UTC(2001, 0, 1);

export function normalizeDate(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return new Date(SWIFT_EPOCH_MS + value * 1000).toISOString();
  return value;
}

const attachment = z.object({
  network: z.string().nullish(),
  ipv4Address: z.string().nullish(),
  /** ≤ 0.7 */
  address: z.string().nullish(),
});

const containerConfiguration = z.object({
  id: z.string(),
  image: z.object({ reference: z.string(), descriptor: z.object({ digest: z.string() }).nullish() }).nullish(),
  labels: z.record(z.string(), z.string()).nullish(),
  mounts: z
    .array(
      z.object({
        type: z.record(z.string(), z.unknown()).nullish(),
        source: z.string(),
        destination: z.string(),
        options: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
  publishedPorts: z
    .array(
      z.object({
        hostAddress: z.string().nullish(),
        hostPort: z.number(),
        containerPort: z.number(),
        proto: z.string().nullish(),
        count: z.number().nullish(),
      }),
    )
    .nullish(),
  creationDate: appleDate.nullish(),
  resources: z.object({ cpus: z.number().nullish(), memoryInBytes: z.number().nullish() }).nullish(),
});

export const appleContainer = z.object({
  /** 1.x only; 0.x has the id in configuration.id alone. */
  id: z.string().nullish(),
  configuration: containerConfiguration,
  /** 1.x: an object; 0.x: the state as a string. */
  status: z.union([
    z.string(),
    z.object({
      state: z.string(),
      networks: z.array(attachment).nullish(),
      startedDate: appleDate.nullish(),
      exitCode: z.number().nullish(),
    }),
  ]),
  /** 0.x: top level. */
  networks: z.array(attachment).nullish(),
  startedDate: appleDate.nullish(),
});
export type AppleContainer = z.infer<typeof appleContainer>;
export const appleContainers = z.array(appleContainer);

export function normalizeContainer(entry: AppleContainer): ContainerInfo {
  const status = entry.status;
  const rawState = typeof status === 'string' ? status : status.state;
  const networks = (typeof status === 'string' ? undefined : status.networks) ?? entry.networks ?? [];
  const startedAt = normalizeDate(typeof status === 'string' ? entry.startedDate : status.startedDate);
  const id = entry.id ?? entry.configuration.id;
  const address = networks[0]?.ipv4Address ?? networks[0]?.address;
  const digest = entry.configuration.image?.descriptor?.digest;
  return {
    id,
    name: id,
    state: normalizeState(rawState, startedAt),
    image: entry.configuration.image?.reference ?? '',
    imageId: digest ? digest.replace(/^sha256:/, '') : null,
    labels: entry.configuration.labels ?? {},
    mounts: normalizeMounts(entry.configuration.mounts ?? []),
    ip: address ? (address.split('/')[0] ?? null) : null,
    ports: normalizePorts(entry.configuration.publishedPorts ?? []),
    createdAt: normalizeDate(entry.configuration.creationDate),
    startedAt,
    exitCode: typeof status === 'string' ? null : (status.exitCode ?? null),
    // Apple always sizes the VM (default 4 cpus, 1 GiB), so these are never "unlimited".
    cpus: entry.configuration.resources?.cpus ?? null,
    memoryBytes: entry.configuration.resources?.memoryInBytes ?? null,
  };
}

/**
 * Apple has no "created" state: a container never started is `stopped` without a startedDate
 * (which also clears when the apiserver restarts; then "created" is the best reading we have).
 */
function normalizeState(state: string, startedAt: string | null): ContainerState {
  switch (state) {
    case 'running':
    case 'stopping':
      return 'running';
    case 'stopped':
      return startedAt === null ? 'created' : 'stopped';
    default:
      return 'unknown';
  }
}

function normalizeMounts(mounts: NonNullable<z.infer<typeof containerConfiguration>['mounts']>): Mount[] {
  return mounts
    .filter((m) => m.type !== null && m.type !== undefined && ('virtiofs' in m.type || 'bind' in m.type))
    .map((m) => ({ source: m.source, target: m.destination, readOnly: (m.options ?? []).includes('ro') }));
}

function normalizePorts(ports: NonNullable<z.infer<typeof containerConfiguration>['publishedPorts']>): PublishedPort[] {
  return ports.flatMap((p) =>
    Array.from({ length: Math.max(1, p.count ?? 1) }, (_, i) => ({
      hostAddress: p.hostAddress ?? '0.0.0.0',
      hostPort: p.hostPort + i,
      containerPort: p.containerPort + i,
      protocol: p.proto === 'udp' ? ('udp' as const) : ('tcp' as const),
    })),
  );
}

const descriptor = z.object({ digest: z.string(), size: z.number().nullish() });
const variant = z.object({
  size: z.number().nullish(),
  config: z.object({ config: z.object({ Labels: z.record(z.string(), z.string()).nullish() }).nullish() }).nullish(),
});

/** 1.x `ImageResource`, and 0.x `ImageDetail` (`name`, `index`). */
export const appleImages = z.array(
  z.union([
    z.object({
      id: z.string(),
      configuration: z.object({ name: z.string(), creationDate: appleDate.nullish(), descriptor: descriptor.nullish() }),
      variants: z.array(variant).nullish(),
    }),
    z.object({ name: z.string(), index: descriptor, variants: z.array(variant).nullish() }),
  ]),
);

export function normalizeImage(entry: z.infer<typeof appleImages>[number]): ImageInfo {
  const variants = entry.variants ?? [];
  const labels = Object.assign({}, ...variants.map((v) => v.config?.config?.Labels ?? {})) as Record<string, string>;
  const sizes = variants.map((v) => v.size ?? 0);
  const sizeBytes = sizes.length > 0 ? sizes.reduce((a, b) => a + b, 0) : null;
  if ('index' in entry) {
    return { id: entry.index.digest.replace(/^sha256:/, ''), tags: [entry.name], labels, createdAt: null, sizeBytes };
  }
  return { id: entry.id, tags: [entry.configuration.name], labels, createdAt: normalizeDate(entry.configuration.creationDate), sizeBytes };
}

const networkStatus = z.object({
  ipv4Subnet: z.string().nullish(),
  ipv4Gateway: z.string().nullish(),
  /** 0.2–0.7 */
  address: z.string().nullish(),
  gateway: z.string().nullish(),
});
const networkConfiguration = z.object({ mode: z.string().nullish(), labels: z.record(z.string(), z.string()).nullish() });

/** 1.x `{id, configuration, status}`; 0.x `{id, state, config, status}`. */
export const appleNetworks = z.array(
  z.object({
    id: z.string(),
    configuration: networkConfiguration.nullish(),
    config: networkConfiguration.nullish(),
    status: networkStatus.nullish(),
  }),
);

export function normalizeNetwork(entry: z.infer<typeof appleNetworks>[number]): NetworkInfo {
  const configuration = entry.configuration ?? entry.config;
  return {
    name: entry.id,
    id: entry.id,
    internal: configuration?.mode === 'hostOnly',
    subnet: entry.status?.ipv4Subnet ?? entry.status?.address ?? null,
    gateway: entry.status?.ipv4Gateway ?? entry.status?.gateway ?? null,
    labels: configuration?.labels ?? {},
    // vmnet, not a Linux bridge: the guest firewall is the Apple path.
    bridge: null,
  };
}

const volumeLabels = z.record(z.string(), z.string()).nullish();

/**
 * `volume list --format json`: 1.x `VolumeResource` `{id, configuration: {name, labels, creationDate}}`
 * (Sources/ContainerResource/Volume/VolumeResource.swift and VolumeConfiguration.swift@1.2.2), 0.x
 * the `Volume` itself `{name, labels, createdAt}` (Sources/ContainerResource/Volume/Volume.swift@0.12.3).
 */
export const appleVolumes = z.array(
  z.union([
    z.object({ id: z.string(), configuration: z.object({ name: z.string(), labels: volumeLabels, creationDate: appleDate.nullish() }) }),
    z.object({ name: z.string(), labels: volumeLabels, createdAt: appleDate.nullish() }),
  ]),
);

export function normalizeVolume(entry: z.infer<typeof appleVolumes>[number]): VolumeInfo {
  if ('configuration' in entry) return { name: entry.configuration.name, labels: entry.configuration.labels ?? {}, createdAt: normalizeDate(entry.configuration.creationDate) };
  return { name: entry.name, labels: entry.labels ?? {}, createdAt: normalizeDate(entry.createdAt) };
}
