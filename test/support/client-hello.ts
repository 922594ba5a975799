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

/**
 * The same ClientHello cut into several TLS records (as RFC 8446 §5.1 allows): the handshake
 * message is split after each of `cuts` bytes, and every piece gets its own 5-byte record header.
 */
export function inRecords(hello: Buffer, cuts: readonly number[]): Buffer {
  const message = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const records: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, message.length]) {
    const fragment = message.subarray(from, to);
    const header = Buffer.from([0x16, hello[1] ?? 3, hello[2] ?? 1, 0, 0]);
    header.writeUInt16BE(fragment.length, 3);
    records.push(header, fragment);
    from = to;
  }
  return Buffer.concat(records);
}
