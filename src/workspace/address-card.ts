import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isRuntimeKind, type RuntimeKind } from '../runtime/kinds.js';
import { ensurePrivateDir, writePrivateFile } from '../state/private-files.js';
import { parseExecDefaults, type ExecDefaults } from './exec-defaults.js';

/**
 * Where a workspace's container lives: its runtime and the engine id Berth got when it created it.
 * A cache of the ledger, written beside the shell profile, so `berth exec` can reach the container
 * without opening SQLite or loading the library (the CLI's start-up is most of its overhead). The id
 * cannot be taken over by a foreign container; a stale card only makes exec report the workspace gone.
 */
export interface AddressCard {
  runtime: RuntimeKind;
  container: string;
  /** Put in front of every command run there (the guest-firewall fence; see egress/guest-firewall.ts). */
  fence?: string[] | undefined;
  /** How plain commands run there when the caller does not say (a devcontainer's remoteUser...). */
  defaults?: ExecDefaults | undefined;
}

function cardPath(berthHome: string, id: string): string {
  return join(berthHome, 'workspaces', id, 'address.json');
}

export function writeAddressCard(berthHome: string, id: string, card: AddressCard): void {
  ensurePrivateDir(join(berthHome, 'workspaces', id));
  writePrivateFile(cardPath(berthHome, id), JSON.stringify(card));
}

export function readAddressCard(berthHome: string, id: string): AddressCard | undefined {
  try {
    const card = JSON.parse(readFileSync(cardPath(berthHome, id), 'utf8')) as Partial<AddressCard>;
    const valid =
      typeof card.container === 'string' &&
      card.container !== '' &&
      isRuntimeKind(card.runtime) &&
      (card.fence === undefined || (Array.isArray(card.fence) && card.fence.every((part) => typeof part === 'string')));
    if (!valid) return undefined;
    const defaults = parseExecDefaults(card.defaults);
    return { runtime: card.runtime, container: card.container, ...(card.fence ? { fence: card.fence } : {}), ...(defaults ? { defaults } : {}) } as AddressCard;
  } catch {
    return undefined;
  }
}

export function removeAddressCard(berthHome: string, id: string): void {
  rmSync(cardPath(berthHome, id), { force: true });
}
