import { now } from './clock.js';
import { Repository } from './repository.js';

/** Which devcontainer lifecycle hooks finished in which of a workspace's containers (`devcontainer_hooks`). */
export interface HookMarkerStore {
  hookFinished(workspace: string, containerId: string, hook: string): boolean;
  markHookFinished(workspace: string, containerId: string, hook: string): void;
  /** The workspace is gone: its markers go too. */
  forgetHooks(workspace: string): void;
}

export class HookMarkerRepository extends Repository implements HookMarkerStore {
  hookFinished(workspace: string, containerId: string, hook: string): boolean {
    return this.db.prepare('SELECT 1 FROM devcontainer_hooks WHERE workspace = ? AND container_id = ? AND hook = ?').get(workspace, containerId, hook) !== undefined;
  }

  markHookFinished(workspace: string, containerId: string, hook: string): void {
    this.db.prepare('INSERT OR REPLACE INTO devcontainer_hooks (workspace, container_id, hook, finished_at) VALUES (?, ?, ?, ?)').run(workspace, containerId, hook, now());
  }

  forgetHooks(workspace: string): void {
    this.db.prepare('DELETE FROM devcontainer_hooks WHERE workspace = ?').run(workspace);
  }
}
