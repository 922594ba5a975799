// What an app's terminal and output panes need, through the one interface: streamed exec with
// bytes kept as bytes, a terminal (PTY) that follows its window, and files. The same code runs in
// process or through the daemon (`openBerth()` picks).
//
//   npm run build
//   BERTH_RUNTIME=host node examples/embed/app-api.mjs      # or docker/podman
import { fileURLToPath } from 'node:url';
import { openBerth } from 'berth';

const id = process.argv[2] ?? 'app-api-example';
const root = fileURLToPath(new URL('../hello/', import.meta.url));

// (In TypeScript, or on Node 24+, `await using berth = await openBerth()` closes it for you.)
const berth = await openBerth();
try {
  console.log(`via ${berth.via}`);
  await berth.up(id, { root });

  // Output as it comes: the first line arrives while the command still runs.
  const started = Date.now();
  await berth.exec(id, ['sh', '-c', 'echo first; sleep 1; echo second'], {
    onStdout: (chunk) => console.log(`  +${String(Date.now() - started).padStart(4)} ms: ${chunk.toString().trim()}`),
  });

  // Bytes stay bytes.
  const bytes = await berth.exec(id, ['printf', '\\377\\376\\000A'], { encoding: 'buffer' });
  console.log(`bytes: ${bytes.stdout.toString('hex')}`);

  // A terminal: type into it, resize it, read what it shows.
  const term = await berth.pty(id, { cols: 80, rows: 24, command: ['sh'] });
  let screen = '';
  term.onData((data) => (screen += data.toString()));
  await term.resize(100, 30);
  term.write('stty size; exit\r');
  await term.wait();
  console.log(`terminal size: ${/(\d+ \d+)/.exec(screen)?.[1] ?? '?'}`);

  // Files anywhere in the workspace (here its /tmp, outside the mounted root), bytes-safe.
  await berth.files.write(id, '/tmp/app-api/note.bin', Buffer.from([0, 1, 2, 255]));
  const back = await berth.files.read(id, '/tmp/app-api/note.bin', { encoding: 'buffer' });
  const listed = await berth.files.list(id, '/tmp/app-api');
  console.log(`files: ${back.toString('hex')} in ${listed.map((f) => `${f.name} (${String(f.size)} B)`).join(', ')}`);
  await berth.files.remove(id, '/tmp/app-api', { recursive: true });
  // A long-lived process over stdio (an LSP server, say): it lives in the workspace, so another
  // Berth (an app restarted) finds it again and ends it.
  const server = await berth.spawn(id, ['sh', '-c', 'while IFS= read -r l; do echo "got: $l"; done']);
  const answered = new Promise((resolve) => server.onStdout((chunk) => chunk.toString().includes('got: ping') && resolve(chunk.toString().trim())));
  server.stdin.write('ping\n');
  console.log(`spawned process answered: ${await answered}`);
  const later = await openBerth();
  try {
    const again = (await later.processes(id)).find((p) => p.id === server.id);
    await again.kill();
    const exit = await again.wait();
    console.log(`re-attached and ended: ${exit.signal ?? exit.exitCode}`);
  } finally {
    await later.close();
  }

  await berth.remove(id);
} finally {
  await berth.close();
}
