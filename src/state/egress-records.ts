import type { RuntimeKind } from '../runtime/types.js';
import { now } from './clock.js';
import { Repository } from './repository.js';

/**
 * A workspace's egress rules as stored: allow and deny patterns (their grammar and meaning are
 * egress/policy.ts's, which re-exports this type; the store only keeps them).
 */
export interface EgressPolicy {
  allow: readonly string[];
  deny: readonly string[];
}

/** A workspace's egress: its policy, the credential its proxy URL carries, where its proxy listens. */
export interface EgressRecord {
  workspace: string;
  runtime: RuntimeKind;
  token: string;
  policy: EgressPolicy;
  /** The workspace's internal network (null in host mode: not enforced). */
  network: string | null;
  /** The host bridge of that network, shielded so only the proxy port answers there. */
  bridge: string | null;
  proxyHost: string;
  proxyPort: number;
  updatedAt: string;
}

/** The `egress` table: one row per workspace that has egress control. */
export interface EgressStore {
  /** Egress settings of one workspace, or of all. */
  egress(workspace?: string): EgressRecord[];
  putEgress(record: Omit<EgressRecord, 'updatedAt'>): void;
  deleteEgress(workspace: string): void;
}

interface EgressRow {
  workspace: string;
  runtime: RuntimeKind;
  token: string;
  allow_json: string;
  deny_json: string;
  network: string | null;
  bridge: string | null;
  proxy_host: string;
  proxy_port: number;
  updated_at: string;
}

export class EgressRepository extends Repository implements EgressStore {
  egress(workspace?: string): EgressRecord[] {
    const rows = (
      workspace === undefined ? this.db.prepare('SELECT * FROM egress ORDER BY workspace').all() : this.db.prepare('SELECT * FROM egress WHERE workspace = ?').all(workspace)
    ) as EgressRow[];
    return rows.map((row) => ({
      workspace: row.workspace,
      runtime: row.runtime,
      token: row.token,
      policy: { allow: JSON.parse(row.allow_json) as string[], deny: JSON.parse(row.deny_json) as string[] },
      network: row.network,
      bridge: row.bridge,
      proxyHost: row.proxy_host,
      proxyPort: row.proxy_port,
      updatedAt: row.updated_at,
    }));
  }

  putEgress(record: Omit<EgressRecord, 'updatedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO egress (workspace, runtime, token, allow_json, deny_json, network, bridge, proxy_host, proxy_port, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (workspace) DO UPDATE SET runtime = excluded.runtime, token = excluded.token, allow_json = excluded.allow_json, deny_json = excluded.deny_json,
           network = excluded.network, bridge = excluded.bridge, proxy_host = excluded.proxy_host, proxy_port = excluded.proxy_port, updated_at = excluded.updated_at`,
      )
      .run(record.workspace, record.runtime, record.token, JSON.stringify(record.policy.allow), JSON.stringify(record.policy.deny), record.network, record.bridge, record.proxyHost, record.proxyPort, now());
  }

  deleteEgress(workspace: string): void {
    this.db.prepare('DELETE FROM egress WHERE workspace = ?').run(workspace);
  }
}
