import { Repository } from './repository.js';

/** The `declared` table: which manifest declared (and `berth apply` created) each workspace. */
export interface Declarations {
  /** The workspaces a manifest has declared (and apply created): the only ones its apply may remove. */
  declaredBy(manifest: string): string[];
  /** The manifest that declared this workspace (and may remove it), if one did. */
  declaringManifest(workspace: string): string | undefined;
  /** Forgets that a manifest declared the workspace (gc removed it). */
  undeclare(workspace: string): void;
  /** The manifest declares exactly these workspaces now (one transaction). */
  setDeclared(manifest: string, workspaces: readonly string[]): void;
}

export class DeclaredRepository extends Repository implements Declarations {
  declaredBy(manifest: string): string[] {
    return (this.db.prepare('SELECT workspace FROM declared WHERE manifest = ? ORDER BY workspace').all(manifest) as { workspace: string }[]).map((r) => r.workspace);
  }

  declaringManifest(workspace: string): string | undefined {
    return (this.db.prepare('SELECT manifest FROM declared WHERE workspace = ?').get(workspace) as { manifest: string } | undefined)?.manifest;
  }

  undeclare(workspace: string): void {
    this.db.prepare('DELETE FROM declared WHERE workspace = ?').run(workspace);
  }

  setDeclared(manifest: string, workspaces: readonly string[]): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM declared WHERE manifest = ?').run(manifest);
      const insert = this.db.prepare('INSERT OR REPLACE INTO declared (workspace, manifest) VALUES (?, ?)');
      for (const workspace of workspaces) insert.run(workspace, manifest);
    })();
  }
}
