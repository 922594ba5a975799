import { z } from 'zod';
import type { ContainerBrief, ContainerInfo, ContainerState, ImageInfo, Mount, NetworkInfo, PublishedPort } from '../types.js';

/**
 * The JSON docker and podman print, as far as Berth reads it (unknown fields are ignored, so newer
 * engines that add fields keep working), and the normalizers that turn it into Berth's own types.
 */

const labels = z
  .record(z.string(), z.string())
  .nullish()
  .transform((value) => value ?? {});

const portBindings = z
  .record(z.string(), z.array(z.object({ HostIp: z.string().nullish(), HostPort: z.string() })).nullable())
  .nullish();

export const containerRecord = z.object({
  Id: z.string(),
  Name: z.string(),
  Created: z.string().nullish(),
  /** Image content id: `sha256:…` on docker, bare hex on podman. */
  Image: z.string().nullish(),
  /** podman only: the reference the container was created from. */
  ImageName: z.string().nullish(),
  State: z.object({
    Status: z.string(),
    ExitCode: z.number().nullish(),
    StartedAt: z.string().nullish(),
  }),
  Config: z.object({
    Image: z.string().nullish(),
    Labels: labels,
  }),
  Mounts: z
    .array(
      z.object({
        Type: z.string().nullish(),
        Source: z.string().nullish(),
        Destination: z.string(),
        RW: z.boolean().nullish(),
      }),
    )
    .nullish(),
  /** The configured bindings; docker fills NetworkSettings.Ports only while running. */
  HostConfig: z.object({ PortBindings: portBindings, NanoCpus: z.number().nullish(), Memory: z.number().nullish() }).nullish(),
  NetworkSettings: z
    .object({
      IPAddress: z.string().nullish(),
      Networks: z.record(z.string(), z.object({ IPAddress: z.string().nullish() }).nullable()).nullish(),
      Ports: portBindings,
    })
    .nullish(),
});
export type ContainerRecord = z.infer<typeof containerRecord>;
export const containerRecords = z.array(containerRecord);

export function normalizeContainer(record: ContainerRecord): ContainerInfo {
  return {
    id: record.Id,
    name: record.Name.replace(/^\//, ''),
    state: normalizeState(record.State.Status),
    image: record.ImageName ?? record.Config.Image ?? '',
    imageId: record.Image ? stripDigestPrefix(record.Image) : null,
    labels: record.Config.Labels,
    mounts: normalizeMounts(record.Mounts ?? []),
    ip: normalizeIp(record),
    ports: normalizePorts(hasBindings(record.NetworkSettings?.Ports) ? record.NetworkSettings?.Ports : record.HostConfig?.PortBindings),
    createdAt: record.Created ?? null,
    startedAt: normalizeTime(record.State.StartedAt),
    exitCode: record.State.ExitCode ?? null,
    // 0 means "no limit" to both engines.
    cpus: record.HostConfig?.NanoCpus ? record.HostConfig.NanoCpus / 1e9 : null,
    memoryBytes: record.HostConfig?.Memory ? record.HostConfig.Memory : null,
  };
}

/**
 * One row of the engine API's container list (`GET /containers/json`: docker, and podman's
 * docker-compatible endpoint, whose libpod twin has no addresses): what a listing needs, in one
 * call for all containers, where an inspect is one call (or one CLI process) per container.
 */
export const containerSummaryRecord = z.object({
  Id: z.string(),
  Names: z.array(z.string()).nullish(),
  /** The reference given at create (docker: the image id once that tag points elsewhere). */
  Image: z.string().nullish(),
  ImageID: z.string().nullish(),
  State: z.string(),
  Labels: labels,
  Ports: z.array(z.object({ IP: z.string().nullish(), PrivatePort: z.number(), PublicPort: z.number().nullish(), Type: z.string().nullish() })).nullish(),
  NetworkSettings: z.object({ Networks: z.record(z.string(), z.object({ IPAddress: z.string().nullish() }).nullable()).nullish() }).nullish(),
});
export const containerSummaryRecords = z.array(containerSummaryRecord);

export function normalizeSummary(record: z.infer<typeof containerSummaryRecord>): ContainerBrief {
  const ip = Object.values(record.NetworkSettings?.Networks ?? {}).find((n) => n?.IPAddress)?.IPAddress ?? null;
  return {
    id: record.Id,
    name: (record.Names?.[0] ?? '').replace(/^\//, ''),
    state: normalizeState(record.State),
    image: record.Image ?? '',
    imageId: record.ImageID ? stripDigestPrefix(record.ImageID) : null,
    labels: record.Labels,
    ip,
    ports: (record.Ports ?? [])
      .filter((p) => typeof p.PublicPort === 'number' && p.PublicPort > 0)
      .map((p) => ({ hostAddress: p.IP || '0.0.0.0', hostPort: p.PublicPort ?? 0, containerPort: p.PrivatePort, protocol: p.Type === 'udp' ? 'udp' : 'tcp' })),
  };
}

/** docker: created running paused restarting removing exited dead; podman adds configured, stopped, stopping.
 *  `removing` is neither up nor down for long, so it is `unknown`: ensure treats it as unusable. */
export function normalizeState(status: string): ContainerState {
  switch (status.toLowerCase()) {
    case 'created':
    case 'configured':
      return 'created';
    case 'running':
    case 'restarting':
    case 'stopping':
      return 'running';
    case 'paused':
      return 'paused';
    case 'exited':
    case 'stopped':
    case 'dead':
      return 'stopped';
    default:
      return 'unknown';
  }
}

function normalizeMounts(mounts: NonNullable<ContainerRecord['Mounts']>): Mount[] {
  return mounts
    .filter((m) => m.Type === 'bind' && m.Source)
    .map((m) => ({ source: m.Source ?? '', target: m.Destination, readOnly: m.RW === false }));
}

function normalizeIp(record: ContainerRecord): string | null {
  const settings = record.NetworkSettings;
  if (!settings) return null;
  if (settings.IPAddress) return settings.IPAddress;
  for (const network of Object.values(settings.Networks ?? {})) {
    if (network?.IPAddress) return network.IPAddress;
  }
  return null;
}

function normalizePorts(ports: z.infer<typeof portBindings>): PublishedPort[] {
  const result: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, proto] = key.split('/');
    for (const binding of bindings ?? []) {
      result.push({
        hostAddress: binding.HostIp || '0.0.0.0',
        hostPort: Number(binding.HostPort),
        containerPort: Number(port),
        protocol: proto === 'udp' ? 'udp' : 'tcp',
      });
    }
  }
  return result;
}

function hasBindings(ports: z.infer<typeof portBindings>): boolean {
  return Object.values(ports ?? {}).some((bindings) => (bindings ?? []).length > 0);
}

/** Engines print Go's zero time for "never"; Berth says null. */
function normalizeTime(value: string | null | undefined): string | null {
  if (!value || value.startsWith('0001-01-01')) return null;
  return value;
}

export function stripDigestPrefix(id: string): string {
  return id.replace(/^sha256:/, '');
}

export const imageRecord = z.object({
  Id: z.string(),
  RepoTags: z.array(z.string()).nullish(),
  Created: z.string().nullish(),
  Size: z.number().nullish(),
  Config: z.object({ Labels: labels, User: z.string().nullish() }).nullish(),
  Labels: labels,
});
export const imageRecords = z.array(imageRecord);

export function normalizeImage(record: z.infer<typeof imageRecord>): ImageInfo {
  return {
    id: stripDigestPrefix(record.Id),
    tags: record.RepoTags ?? [],
    labels: { ...record.Labels, ...(record.Config?.Labels ?? {}) },
    createdAt: record.Created ?? null,
    sizeBytes: record.Size ?? null,
    user: record.Config?.User ?? '',
  };
}

const dockerNetwork = z.object({
  Name: z.string(),
  Id: z.string(),
  Options: z.record(z.string(), z.string()).nullish(),
  Internal: z.boolean().nullish(),
  Labels: labels,
  IPAM: z
    .object({ Config: z.array(z.object({ Subnet: z.string().nullish(), Gateway: z.string().nullish() })).nullish() })
    .nullish(),
});

/** podman 4+ (netavark/CNI) prints its own lower-case shape. */
const podmanNetwork = z.object({
  name: z.string(),
  id: z.string(),
  network_interface: z.string().nullish(),
  internal: z.boolean().nullish(),
  labels: labels,
  subnets: z.array(z.object({ subnet: z.string().nullish(), gateway: z.string().nullish() })).nullish(),
});

export const networkRecords = z.array(z.union([dockerNetwork, podmanNetwork]));

export function normalizeNetwork(record: z.infer<typeof networkRecords>[number]): NetworkInfo {
  if ('Name' in record) {
    const ipam = record.IPAM?.Config?.[0];
    return {
      name: record.Name,
      id: record.Id,
      internal: record.Internal ?? false,
      subnet: ipam?.Subnet ?? null,
      gateway: ipam?.Gateway ?? null,
      labels: record.Labels,
      // docker names a network's bridge br-<first 12 of its id> unless told otherwise.
      bridge: record.Options?.['com.docker.network.bridge.name'] ?? `br-${record.Id.slice(0, 12)}`,
    };
  }
  const subnet = record.subnets?.[0];
  return {
    name: record.name,
    id: record.id,
    internal: record.internal ?? false,
    subnet: subnet?.subnet ?? null,
    gateway: subnet?.gateway ?? null,
    labels: record.labels,
    bridge: record.network_interface ?? null,
  };
}

/** Generic `inspect` mixes containers and images; each item is sorted out by shape. */
export const anyArray = z.array(z.unknown());

export const versionRecord = z.object({
  Client: z.object({ Version: z.string() }),
  Server: z.object({ Version: z.string() }).nullish(),
});
