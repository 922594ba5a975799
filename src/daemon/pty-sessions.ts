import { randomUUID } from 'node:crypto';
import type { ApiPty, ApiPtyOptions } from '../api.js';
import { BerthError } from '../errors.js';
import { ByteTail } from '../process/byte-tail.js';

/** The terminal the library opens (`Berth.pty`) and what opens one: the one interface's shapes. */
export type PtyLike = ApiPty;
export type PtyOpenOptions = ApiPtyOptions;

export type OpenPty = (workspace: string, options: PtyOpenOptions) => Promise<PtyLike>;

/** Who is watching a session right now: one WebSocket. */
export interface PtyViewer {
  data(chunk: Buffer): void;
  exit(exitCode: number | null): void;
}

/** What a re-attaching viewer is shown first: the screen's recent past, so a reconnect is not a blank terminal. */
const REPLAY_BYTES = 64 * 1024;
/** How long a terminal with nobody watching lives, for a browser tab that reloads or a network blip. */
const DETACHED_GRACE_MS = 60_000;

/**
 * The daemon's open terminals, by session id. A dropped connection does not end the shell: the
 * session waits `graceMs` for a viewer to `attach` again (and shows it the last 64 KiB), then is
 * killed. A session belongs to one workspace; attaching names both, and the id is a random UUID
 * only its opener learnt.
 */
export class PtySessions {
  private readonly sessions = new Map<string, PtySession>();
  private readonly openPty: OpenPty;
  private readonly graceMs: number;

  constructor(openPty: OpenPty, graceMs = DETACHED_GRACE_MS) {
    this.openPty = openPty;
    this.graceMs = graceMs;
  }

  async open(workspace: string, options: PtyOpenOptions, viewer: PtyViewer): Promise<PtySession> {
    const pty = await this.openPty(workspace, options);
    const session = new PtySession(randomUUID(), workspace, pty, this.graceMs, () => this.sessions.delete(session.id));
    this.sessions.set(session.id, session);
    session.attach(viewer);
    return session;
  }

  attach(workspace: string, id: string, viewer: PtyViewer): PtySession {
    const session = this.sessions.get(id);
    if (!session || session.workspace !== workspace) {
      throw new BerthError('E_NOT_FOUND', `No terminal session ${JSON.stringify(id)} in workspace ${JSON.stringify(workspace)}.`, {
        hint: `It ended, or nobody re-attached within ${String(Math.round(this.graceMs / 1000))} s: open a new one.`,
      });
    }
    session.attach(viewer);
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Kills every terminal (the daemon stops). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((session) => session.kill()));
    this.sessions.clear();
  }
}

export class PtySession {
  readonly id: string;
  readonly workspace: string;
  private readonly pty: PtyLike;
  private readonly graceMs: number;
  private readonly forget: () => void;
  private viewer: PtyViewer | null = null;
  private readonly recent = new ByteTail(REPLAY_BYTES);
  private exitCode: number | null | undefined;
  private orphanTimer: NodeJS.Timeout | undefined;

  constructor(id: string, workspace: string, pty: PtyLike, graceMs: number, forget: () => void) {
    this.id = id;
    this.workspace = workspace;
    this.pty = pty;
    this.graceMs = graceMs;
    this.forget = forget;
    pty.onData((chunk) => {
      this.recent.add(chunk);
      this.viewer?.data(chunk);
    });
    void pty.wait().then(
      ({ exitCode }) => this.ended(exitCode),
      () => this.ended(null),
    );
  }

  /** The new viewer replaces the old one (a second tab takes the terminal over) and sees the recent output. */
  attach(viewer: PtyViewer): void {
    clearTimeout(this.orphanTimer);
    this.viewer = viewer;
    if (this.recent.length > 0) viewer.data(this.recent.bytes());
    if (this.exitCode !== undefined) viewer.exit(this.exitCode);
  }

  /** The viewer's connection closed: keep the shell for a while, in case it comes back. */
  detach(viewer: PtyViewer): void {
    if (this.viewer !== viewer) return;
    this.viewer = null;
    if (this.exitCode !== undefined) return;
    this.orphanTimer = setTimeout(() => void this.kill(), this.graceMs);
    this.orphanTimer.unref();
  }

  write(data: Uint8Array): void {
    if (this.exitCode === undefined) this.pty.write(data);
  }

  resize(cols: number, rows: number): Promise<void> {
    return this.exitCode === undefined ? this.pty.resize(cols, rows) : Promise.resolve();
  }

  async kill(signal?: NodeJS.Signals): Promise<void> {
    clearTimeout(this.orphanTimer);
    if (this.exitCode === undefined) await this.pty.kill(signal);
    this.forget();
  }

  private ended(exitCode: number | null): void {
    if (this.exitCode !== undefined) return;
    this.exitCode = exitCode;
    clearTimeout(this.orphanTimer);
    this.viewer?.exit(exitCode);
    this.forget();
  }
}
