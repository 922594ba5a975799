import { resolveExecutable } from '../../process/index.js';

/**
 * A byte relay between a loopback TCP port and a unix socket, in either direction: how traffic
 * crosses the sandbox's network namespace (a unix socket is a file, so a bind mount carries it; a
 * TCP port is not). socat where installed, as sandbox-runtime does
 * (anthropic-experimental/sandbox-runtime@d35b813 src/sandbox/linux-sandbox-utils.ts): it starts in
 * about a millisecond, where node needs ~40 ms, and the relay inside starts with every holder.
 * Otherwise the node running Berth, with this short script: slower to start, no extra package.
 */
export type RelayEnd = { tcp: { host: string; port: number } } | { unix: string };

const NODE_RELAY = `
const net = require('node:net');
const [from, to] = process.argv.slice(1).map((s) => JSON.parse(s));
const addr = (end) => (end.unix ? { path: end.unix } : { host: end.tcp.host, port: end.tcp.port });
const server = net.createServer((inbound) => {
  const outbound = net.connect(addr(to));
  inbound.pipe(outbound).pipe(inbound);
  const end = () => { inbound.destroy(); outbound.destroy(); };
  inbound.on('error', end); outbound.on('error', end); inbound.on('close', end); outbound.on('close', end);
});
server.listen(from.unix ? { path: from.unix } : { host: from.tcp.host, port: from.tcp.port });
`;

export function relayArgv(listen: RelayEnd, connect: RelayEnd, env: NodeJS.ProcessEnv = process.env): string[] {
  if (resolveExecutable('socat', env) !== undefined) {
    const from = 'unix' in listen ? `UNIX-LISTEN:${listen.unix},fork,mode=600,unlink-early` : `TCP-LISTEN:${String(listen.tcp.port)},bind=${listen.tcp.host},fork,reuseaddr`;
    const to = 'unix' in connect ? `UNIX-CONNECT:${connect.unix}` : `TCP:${connect.tcp.host.includes(':') ? `[${connect.tcp.host}]` : connect.tcp.host}:${String(connect.tcp.port)}`;
    return ['socat', from, to];
  }
  return [process.execPath, '-e', NODE_RELAY, JSON.stringify(listen), JSON.stringify(connect)];
}
