import { BerthError, isBerthError } from '../errors.js';
import type { Runtime } from '../runtime/types.js';

/**
 * Egress where the runtime's internal network does not stop raw-IP traffic: Apple container's
 * host-only networks keep a default route in the guest (apple/container#2062), so a workspace could
 * skip the proxy by dialling an address. There the workspace's own kernel enforces it: a firewall in
 * the guest VM that lets out only loopback, replies, and the proxy's address and port.
 *
 * The firewall is set by the container's main process, as root, before it settles into its
 * keep-alive: it is back on every start of the VM, including starts Berth did not make. If it cannot
 * be set (no iptables in the image), the main process exits and the workspace does not run: egress
 * control fails closed.
 *
 * Setting the rules needs CAP_NET_ADMIN. Up to 0.11 every Apple container process has all
 * capabilities; from 0.12 they start from the OCI default set, without it, so the runtime asks for
 * it (`--cap-add CAP_NET_ADMIN`) when the main process is this firewall (`needsNetAdmin`). Processes
 * exec'd in the container get the same set, so root inside the workspace could flush the rules
 * again: every command Berth runs there starts without CAP_NET_ADMIN (`setpriv` removes it from the
 * bounding and inheritable sets; nothing the command starts can get it back). That drop is the only
 * barrier, and it is on every path Berth starts processes: exec, shell, dev servers, the CLI's
 * address card.
 */

/** Where the main process records that the firewall is in place. */
export const FIREWALL_MARKER = '/run/berth/egress-firewall';

/** How long ensure() waits for the main process to report the firewall. */
const READY_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 100;

/** The firewall's \$0: how the runtime recognises a main process that needs CAP_NET_ADMIN. */
const FIREWALL_ARGV0 = 'berth-egress-firewall';

/**
 * Before any rule, each tool is asked to list its table, so a failure says which cause it is: no
 * tool, no capability (EPERM), or a guest kernel without that netfilter (the 6.12.28 kernel of
 * Apple container 0.1 to 0.8 has IPv4 iptables but neither IP6_NF_IPTABLES nor NF_TABLES, and
 * \`system start\` keeps an installed kernel on upgrade).
 */
const FIREWALL_SCRIPT = `set -eu
proxy="$1"; port="$2"; shift 2
for tool in iptables ip6tables; do
  command -v "$tool" >/dev/null 2>&1 || { echo "berth egress firewall: $tool is not installed in the workspace image" >&2; exit 78; }
done
for tool in iptables ip6tables; do
  if ! said=$("$tool" -w -S OUTPUT 2>&1 >/dev/null); then
    case "$said" in
      *"ermission denied"*|*"not permitted"*) echo "berth egress firewall: $tool: no CAP_NET_ADMIN ($said)" >&2; exit 77 ;;
      *) echo "berth egress firewall: the guest kernel has no $tool support ($said)" >&2; exit 79 ;;
    esac
  fi
done
for tool in iptables ip6tables; do
  "$tool" -w -F OUTPUT
  "$tool" -w -A OUTPUT -o lo -j ACCEPT
  "$tool" -w -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
done
iptables -w -A OUTPUT -p tcp -d "$proxy" --dport "$port" -j ACCEPT
iptables -w -P OUTPUT DROP
ip6tables -w -P OUTPUT DROP
mkdir -p /run/berth
echo "proxy $proxy:$port" > ${FIREWALL_MARKER}
exec "$@"`;

/** The main process of a fenced workspace: the firewall first, then `keepAlive`. */
export function firewalledCommand(proxyHost: string, proxyPort: number, keepAlive: readonly string[]): string[] {
  return ['sh', '-c', FIREWALL_SCRIPT, FIREWALL_ARGV0, proxyHost, String(proxyPort), ...keepAlive];
}

/** Is this main process the guest firewall (which needs CAP_NET_ADMIN to set its rules)? */
export function needsNetAdmin(command: readonly string[] | undefined): boolean {
  return command?.[0] === 'sh' && command[1] === '-c' && command[2] === FIREWALL_SCRIPT && command[3] === FIREWALL_ARGV0;
}

/** What goes in front of every command Berth runs in a fenced workspace. */
export const EXEC_FENCE: readonly string[] = ['setpriv', '--inh-caps', '-net_admin', '--bounding-set', '-net_admin', '--'];

/**
 * Waits until the main process reports the firewall; if it exited instead, says why from its logs.
 * Called after every create and start of a fenced workspace (the reuse path pays nothing).
 */
export async function waitForFirewall(runtime: Runtime, target: string, workspace: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const result = await runtime.exec(target, ['cat', FIREWALL_MARKER], { timeoutMs: 5000 });
      if (result.exitCode === 0 && result.stdout.startsWith('proxy ')) return;
    } catch (error) {
      if (!isBerthError(error, 'E_NOT_RUNNING', 'E_NOT_FOUND')) throw error;
      throw await firewallFailed(runtime, target, workspace);
    }
    if (Date.now() > deadline) throw await firewallFailed(runtime, target, workspace);
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

async function firewallFailed(runtime: Runtime, target: string, workspace: string): Promise<BerthError> {
  const logs = await runtime.logs(target, { tail: 20 }).catch(() => ({ stdout: '', stderr: '' }));
  const said = `${logs.stdout}\n${logs.stderr}`.split('\n').filter((line) => line.includes('berth egress firewall') || /iptables|ip6tables/.test(line));
  return new BerthError('E_RUNTIME_FAILED', `The egress firewall inside workspace "${workspace}" did not come up${said.length > 0 ? `: ${said.join('; ')}` : ''}.`, {
    hint: firewallHint(said.join('\n')),
    details: { workspace },
  });
}

/** What to do, from what the firewall said: the fix differs per cause. */
function firewallHint(said: string): string {
  const why = 'its host-only networks still route raw IP out (apple/container#2062), so Berth does not run the workspace without the firewall.';
  if (said.includes('guest kernel has no')) {
    return (
      'The container system runs an old kernel without IPv6 netfilter or nf_tables (the default of Apple container 0.8 and ' +
      'earlier, kept across upgrades). Update the kernel: `container system kernel set --recommended`, then ' +
      `\`container system stop && container system start\` and \`berth up\` again: ${why}`
    );
  }
  if (said.includes('no CAP_NET_ADMIN')) {
    return (
      "The workspace's main process may not set firewall rules (no CAP_NET_ADMIN): its container was made without " +
      '`--cap-add CAP_NET_ADMIN` (by an older Berth, or before Apple container 0.12, whose containers had every ' +
      `capability). Recreate it: \`berth rm\` it and \`berth up\` again: ${why}`
    );
  }
  return `On Apple container, egress control needs iptables (and setpriv, from util-linux) in the workspace image, e.g. \`apt-get install -y iptables\`: ${why}`;
}
