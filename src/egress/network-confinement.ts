import type { ContainerSpec } from '../runtime/types.js';

/**
 * What a docker/podman egress workspace's container gets beside its internal network, so nothing
 * but the proxy carries anything out:
 * - no published ports: an internal network forwards none (docker drops them; podman 4.3/netavark
 *   records them and sets up nothing), so dev-server previews use the container's own address;
 * - its resolver confined to itself: docker's embedded resolver (127.0.0.11) forwards to the
 *   container's `--dns` servers from inside the container's network namespace, but with none given
 *   it forwards to the host's loopback resolvers (systemd-resolved's 127.0.0.53) from the HOST's
 *   namespace, a channel around the internal network (vendor/github.com/docker/libnetwork/
 *   sandbox_dns_unix.go setupDNS/setExternalResolvers and resolver.go HostLoopback @ moby v20.10.24).
 *   127.0.0.1 is the container's own loopback: queries go nowhere unless the workspace answers
 *   them itself. The workspace needs no DNS: the proxy resolves names.
 *   podman 4.3: `--dns` only writes resolv.conf (libpod/container_internal_common.go); aardvark-dns
 *   still serves the network on its gateway and forwards to the host's resolvers from the host.
 *   It cannot be turned off here: an internal network made with `--disable-dns` gets no gateway
 *   (netavark assigns one to internal networks only for aardvark), so the proxy would have no
 *   address. The host shield drops port 53 on the gateway like everything but the proxy, and is
 *   restored by every ensure and reconcile cycle: on podman it is the DNS containment.
 */
export const CONFINED_TO_NETWORK: Partial<ContainerSpec> = { ports: [], dnsServers: ['127.0.0.1'] };
