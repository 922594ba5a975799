// Berth from a program, both ways: through the daemon when one runs for this $BERTH_HOME,
// else in-process as a library. Same workspace, same result.
//
//   npm run build
//   node examples/embed/embed.mjs                 # in-process (or the daemon, if one runs)
//   berth daemon &  node examples/embed/embed.mjs # through the daemon
//
// BERTH_RUNTIME picks the runtime in-process (docker, podman, host, ...); BERTH_IMAGE the image.
import { fileURLToPath } from 'node:url';
import { createBerth } from 'berth';
import { connectDaemon } from 'berth/client';

const id = process.argv[2] ?? 'embed-example';
// Over the API, paths are absolute: the daemon does not know this program's folder.
const root = fileURLToPath(new URL('../hello/', import.meta.url));
const spec = { root, ...(process.env.BERTH_IMAGE ? { image: process.env.BERTH_IMAGE } : {}) };

const daemon = await connectDaemon();
if (daemon) {
  const { pid, runtime } = await daemon.health();
  console.log(`via the daemon (pid ${pid}, ${runtime})`);
  const up = await daemon.up(id, spec);
  console.log(`${up.id}: ${up.action}, ${up.state}`);
  for (const ws of await daemon.listWorkspaces()) console.log(`  ${ws.id} ${ws.state} ${ws.root ?? ''}`);
  // The last events about it, then the live stream for a moment (SSE, in order, resumable by seq).
  const recent = await daemon.events({ workspace: id });
  for (const e of recent.slice(-3)) console.log(`  event ${e.seq} ${e.type}`);
  const stop = AbortSignal.timeout(500);
  for await (const e of daemon.streamEvents({ workspace: id, after: recent.at(-1)?.seq ?? 0 }, stop)) console.log(`  live ${e.seq} ${e.type}`);
} else {
  const berth = await createBerth();
  console.log(`in-process (${berth.runtime.kind})`);
  berth.on('event', (e) => console.log(`  event ${e.type}: ${e.message}`));
  const up = await berth.up(id, spec);
  console.log(`${up.id}: ${up.action}, ${up.state}`);
  for (const ws of await berth.list()) console.log(`  ${ws.id} ${ws.state} ${ws.root ?? ''}`);
  const { stdout } = await berth.exec(id, ['node', 'hello.mjs']);
  console.log(`  hello.mjs says: ${stdout.trim()}`);
  await berth.close();
}
