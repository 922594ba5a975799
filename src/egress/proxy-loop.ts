/**
 * One accept loop of the egress proxy: a cluster worker forked by ProxyLoops (proxy-loops.ts).
 * It serves the same EgressProxy as a single-process daemon, with the state the primary sends:
 * listeners, each with the credentials of its workspaces, and every workspace's policy, all in one
 * message. It opens a listener only after that message is applied, so no connection reaches it
 * before its checks can run; it answers each message once the state is in force, which is the
 * acknowledgement the primary waits for. Its decisions go back to the primary, one message a turn.
 * When the primary goes (even kill -9) the IPC channel closes and the cluster worker exits.
 */
import cluster from 'node:cluster';
import type { BerthEventInput } from '../events.js';
import type { EgressPolicy } from './policy.js';
import { EgressProxy } from './proxy.js';
import type { FromLoop, LoopState, ToLoop } from './loop-messages.js';

const proxies = new Map<string, EgressProxy>();
/** One map for every listener, replaced whole by each state: what `policyFor` reads per connection. */
let policies = new Map<string, EgressPolicy>();
let pending: BerthEventInput[] = [];
let scheduled = false;

function send(message: FromLoop): void {
  process.send?.(message);
}

function emit(event: BerthEventInput): void {
  pending.push(event);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flush);
}

function flush(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const events = pending;
  pending = [];
  send({ kind: 'events', events });
}

/** The last decisions reach the primary before the loop goes (process.send is asynchronous). */
async function close(graceMs: number): Promise<void> {
  await Promise.all([...proxies.values()].map((proxy) => proxy.close(graceMs)));
  proxies.clear();
  flush();
  await new Promise<void>((resolve) => process.send?.({ kind: 'closed' } satisfies FromLoop, undefined, {}, () => resolve()));
  process.disconnect();
}

async function apply(state: LoopState): Promise<void> {
  policies = new Map(state.policies);
  const wanted = new Map(state.listeners.map((l) => [`${l.host}:${String(l.port)}`, l]));
  for (const [address, proxy] of proxies) {
    if (!wanted.has(address)) {
      proxies.delete(address);
      await proxy.close(1000);
    }
  }
  const failures: [string, string][] = [];
  for (const [address, listener] of wanted) {
    let proxy = proxies.get(address);
    if (proxy === undefined) {
      const created = new EgressProxy({ host: listener.host, port: listener.port, policyFor: (workspace) => policies.get(workspace), emit });
      // Credentials before the listener opens: a connection accepted at once is already checked.
      for (const [workspace, token] of listener.tokens) created.trust(workspace, token);
      try {
        await created.listen();
      } catch (error) {
        failures.push([address, error instanceof Error ? error.message : String(error)]);
        continue;
      }
      proxies.set(address, created);
      proxy = created;
    }
    for (const [workspace, token] of listener.tokens) proxy.trust(workspace, token);
  }
  send({ kind: 'applied', seq: state.seq, listening: [...proxies.keys()].sort(), failures });
}

/** States apply one at a time, in the order sent. */
let applying: Promise<void> = Promise.resolve();

if (cluster.isWorker && process.send !== undefined) {
  process.on('message', (message: ToLoop) => {
    const step = message.kind === 'state' ? () => apply(message.state) : () => close(message.graceMs);
    applying = applying.then(step).catch((error: unknown) => {
      // A state this loop cannot apply must not leave it serving an older one: it ends, and the
      // primary forks a fresh loop that starts from the current state.
      process.stderr.write(`berth egress loop ${String(process.pid)}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(70);
    });
  });
  send({ kind: 'ready' });
}
