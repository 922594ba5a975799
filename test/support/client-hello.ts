import { createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * The bytes of a real ClientHello that node's TLS client sends for `servername` (none for an IP),
 * captured by a loopback server that never answers.
 */
export async function clientHelloFor(servername: string | undefined): Promise<Buffer> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const captured = new Promise<Buffer>((resolve) => server.once('connection', (socket: Socket) => socket.once('data', resolve)));
    const client = tlsConnect({ host: '127.0.0.1', port, ...(servername === undefined ? {} : { servername }), rejectUnauthorized: false });
    client.on('error', () => undefined);
    const hello = await captured;
    client.destroy();
    return hello;
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
