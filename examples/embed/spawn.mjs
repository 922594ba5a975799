// A long-lived process in a workspace, the way an editor runs a language server: start it, talk
// to it over stdin/stdout, then find it again from a new Berth (as after an app restart), read
// back what it printed, and end it.
//
//   npm run build
//   node examples/embed/spawn.mjs
//
// BERTH_RUNTIME picks the runtime (docker, podman, host, ...); BERTH_IMAGE the image.
import { fileURLToPath } from 'node:url';
import { createBerth } from 'berth';

const id = process.argv[2] ?? 'spawn-example';
const root = fileURLToPath(new URL('../hello/', import.meta.url));
const spec = { root, ...(process.env.BERTH_IMAGE ? { image: process.env.BERTH_IMAGE } : {}) };

/** Resolves with everything the process printed (the ring's replay, then live) once it holds `text`. */
function outputUntil(handle, text) {
  return new Promise((resolve) => {
    let seen = '';
    const stop = handle.onStdout((chunk) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        stop();
        resolve(seen);
      }
    });
  });
}

// The app starts: a server that answers each line it reads (standing in for an LSP server).
const first = await createBerth({ workspace: id });
await first.up(id, spec);
const server = await first.spawn(id, ['sh', '-c', 'echo ready; while IFS= read -r line; do echo "echo: $line"; done']);
console.log(`spawned ${server.id}: ${server.argv.join(' ')}`);
await outputUntil(server, 'ready');
server.stdin.write('hello\n');
await outputUntil(server, 'echo: hello');
console.log('it answered: echo: hello');
first.close(); // the app quits; the server keeps running in the workspace

// The app starts again: the server is still there, with what it printed.
const again = await createBerth({ workspace: id });
const found = (await again.processes(id)).find((p) => p.id === server.id);
found.stdin.write('again\n');
const replayed = await outputUntil(found, 'echo: again');
console.log(`after a restart it replayed: ${JSON.stringify(replayed)}`);
await found.kill();
const { exitCode, signal } = await found.wait();
console.log(`ended: exit ${exitCode}, signal ${signal}`);
again.close();
