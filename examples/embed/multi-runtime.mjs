// One Berth, two runtimes: a workspace on the default runtime (a container, where an engine runs)
// beside one in host mode, as an app with a per-workspace "container or host" switch keeps them.
// Each is served on its own runtime; one list, one event stream.
//
//   npm run build
//   node examples/embed/multi-runtime.mjs
//
// BERTH_RUNTIME picks the default runtime (docker, podman, ...); BERTH_IMAGE its image.
import { fileURLToPath } from 'node:url';
import { createBerth } from 'berth';

const id = process.argv[2] ?? 'multi-example';
const root = fileURLToPath(new URL('../hello/', import.meta.url));
const boxed = `${id}-box`;
const onHost = `${id}-host`;

const berth = await createBerth();
berth.on('event', (e) => {
  if (e.type === 'workspace.created') console.log(`event: ${e.workspace} created on ${e.data.runtime}`);
});
// No `runtime`: the default one (BERTH_RUNTIME, config, detection). `runtime: 'host'`: host mode.
await berth.up(boxed, { root, ...(process.env.BERTH_IMAGE ? { image: process.env.BERTH_IMAGE } : {}) });
await berth.up(onHost, { root, runtime: 'host' });

for (const ws of [boxed, onHost]) {
  const { stdout } = await berth.exec(ws, ['node', 'hello.mjs']);
  console.log(`${ws}: ${stdout.split('\n')[0]}`);
}
for (const w of await berth.list()) {
  if (w.id === boxed || w.id === onHost) console.log(`listed ${w.id}: ${w.runtime}, ${w.state}`);
}
console.log(`runtimes: ${berth.runtimes().map((r) => `${r.kind} ${r.state}${r.default ? ' (default)' : ''}`).join(', ')}`);

await berth.remove(boxed);
await berth.remove(onHost);
await berth.close();
