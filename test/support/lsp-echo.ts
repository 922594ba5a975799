/**
 * A language server's shape for spawn tests (the seed's containerized language servers): plain
 * node, no dependencies, so it runs in any workspace with node.
 */

/** An LSP-style echo server: Content-Length framed JSON-RPC on stdin, each request answered on stdout. */
export const LSP_ECHO = `
let buf = Buffer.alloc(0);
process.stdin.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const head = buf.indexOf('\\r\\n\\r\\n');
    if (head < 0) return;
    const length = Number(/Content-Length: (\\d+)/i.exec(buf.subarray(0, head).toString())[1]);
    if (buf.length < head + 4 + length) return;
    const request = JSON.parse(buf.subarray(head + 4, head + 4 + length).toString());
    buf = buf.subarray(head + 4 + length);
    const body = JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { echo: request.params } });
    process.stdout.write('Content-Length: ' + Buffer.byteLength(body) + '\\r\\n\\r\\n' + body);
  }
});
process.stdin.on('end', () => { process.stderr.write('stdin closed\\n'); process.exit(0); });
process.stdout.write('ready\\n');
`;

export function lspRequest(id: number, params: unknown): string {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'echo', params });
  return `Content-Length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`;
}
