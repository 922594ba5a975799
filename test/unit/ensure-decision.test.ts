import { describe, expect, it } from 'vitest';
import type { ContainerState } from '../../src/runtime/types.js';
import { decideEnsure, describeReason, observedContainer, type EnsureDecision, type ObservedContainer } from '../../src/workspace/ensure-decision.js';
import { LABELS } from '../../src/workspace/labels.js';
import { specHash, type SpecPart } from '../../src/workspace/spec-hash.js';
import { normalizeSpec } from '../../src/workspace/spec.js';

/*
 * The ensure decision as a table: one row per situation ensure() and the planner meet. Desired
 * hashes are real ones (spec-hash.ts), and each drift row changes exactly one input of the hash,
 * so a new hash part without a row here is a missing case, not a silent "spec changed".
 */

const owner = 'installation-a';
const root = '/work/project';
const base = normalizeSpec({ root, image: 'berth-workspace:test', env: { A: '1' }, cpus: 1, memory: '1g' });
const plan = (extra: string | null = null) => ({
  mounts: [{ source: root, target: '/workspace', readOnly: false }, ...(extra ? [{ source: extra, target: extra, readOnly: true }] : [])],
  volumes: [],
  tmpfs: [],
  skipped: [],
});
const desired = specHash(base, plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });

/** The container a previous ensure made from a spec that differs in one part. */
const madeFrom = (part: SpecPart): { hash: string; parts: string } => {
  switch (part) {
    case 'image':
      return specHash(base, plan(), 'sha256:image-2', owner, { previewPorts: 0, guestFirewall: false });
    case 'mounts':
      return specHash(base, plan('/work/extra'), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    case 'env':
      return specHash({ ...base, env: { A: '2' } }, plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    case 'resources':
      return specHash({ ...base, cpus: 2 }, plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    case 'ports':
      return specHash(base, plan(), 'sha256:image-1', owner, { previewPorts: 3, guestFirewall: false });
    case 'network':
      return specHash({ ...base, egress: { allow: ['registry.npmjs.org'], deny: [] } }, plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    case 'devcontainer':
      return specHash({ ...base, devcontainer: { file: '/work/project/.devcontainer/devcontainer.json', hash: 'before' } }, plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    case 'user':
      return specHash({ ...base, user: '1234:1234' }, plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    case 'privileges':
      return specHash({ ...base, privileges: { capAdd: ['SYS_PTRACE'], securityOpt: [], privileged: false, addHosts: [], devices: [] } }, plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
  }
};

const container = (state: ContainerState, made: { hash: string; parts: string } | null = desired, ours = true): ObservedContainer => ({
  state,
  specHash: made?.hash ?? null,
  specParts: made?.parts,
  ours,
});

const ALL_PARTS: SpecPart[] = ['image', 'mounts', 'env', 'resources', 'ports', 'network'];

describe('the ensure decision', () => {
  const rows: [string, ObservedContainer | null, EnsureDecision][] = [
    ['no container: create', null, { action: 'create' }],
    ['running, same hash: reuse', container('running'), { action: 'reuse' }],
    ['stopped, same hash: start', container('stopped'), { action: 'start' }],
    ['created (never started), same hash: start', container('created'), { action: 'start' }],
    ['paused, same hash: ghost', container('paused'), { action: 'ghost', reasons: [{ kind: 'state', state: 'paused' }] }],
    ['unknown state, same hash: ghost', container('unknown'), { action: 'ghost', reasons: [{ kind: 'state', state: 'unknown' }] }],
    ['not ours (another installation or no labels): foreign', container('running', desired, false), { action: 'foreign' }],
    ['not ours and drifted: still foreign, never recreated', container('stopped', madeFrom('env'), false), { action: 'foreign' }],
    ...ALL_PARTS.map((part): [string, ObservedContainer, EnsureDecision] => [`${part} drifted: recreate`, container('running', madeFrom(part)), { action: 'recreate', reasons: [{ kind: 'drift', part }] }]),
    ['drift wins over a ghost state: recreate for the drift', container('paused', madeFrom('image')), { action: 'recreate', reasons: [{ kind: 'drift', part: 'image' }] }],
    ['drift of a stopped container: recreate, not start', container('stopped', madeFrom('resources')), { action: 'recreate', reasons: [{ kind: 'drift', part: 'resources' }] }],
    [
      'several parts drifted: each named, in hash order',
      container('running', specHash({ ...base, image: 'other:1', env: { B: '1' } }, plan(), 'sha256:image-1', owner)),
      { action: 'recreate', reasons: [{ kind: 'drift', part: 'image' }, { kind: 'drift', part: 'env' }] },
    ],
    [
      'no spec labels (made before they existed): recreate, every part named',
      { state: 'running', specHash: null, ours: true },
      { action: 'recreate', reasons: ALL_PARTS.map((part) => ({ kind: 'drift' as const, part })) },
    ],
  ];

  it.each(rows)('%s', (_, observed, expected) => {
    expect(decideEnsure(observed, desired)).toEqual(expected);
  });

  it('covers every part the spec hash has', () => {
    expect(desired.parts.split(',').map((pair) => pair.split(':')[0])).toEqual(ALL_PARTS);
  });

  it('privileges (capabilities, hosts, devices) and entrypoints are drift of their own part, present only when given', () => {
    const privileged = (capAdd: string[], entrypoints?: string[]) => ({ ...base, privileges: { capAdd, securityOpt: [], privileged: false, addHosts: [], devices: [] }, ...(entrypoints ? { entrypoints } : {}) });
    const now = specHash(privileged(['NET_RAW']), plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    expect(decideEnsure(container('running', madeFrom('privileges')), now)).toEqual({ action: 'recreate', reasons: [{ kind: 'drift', part: 'privileges' }] });
    const withEntry = specHash(privileged(['NET_RAW'], ['echo hi']), plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    expect(decideEnsure(container('running', now), withEntry)).toEqual({ action: 'recreate', reasons: [{ kind: 'drift', part: 'privileges' }] });
    expect(decideEnsure(container('running', desired), now)).toEqual({ action: 'recreate', reasons: [{ kind: 'drift', part: 'privileges' }] });
    expect(decideEnsure(container('stopped', now), now)).toEqual({ action: 'start' });
  });

  it('a devcontainer.json edit is drift of its own part; the part exists only for devcontainer workspaces', () => {
    const dc = (hash: string) => ({ ...base, devcontainer: { file: '/work/project/.devcontainer/devcontainer.json', hash } });
    const now = specHash(dc('after'), plan(), 'sha256:image-1', owner, { previewPorts: 0, guestFirewall: false });
    expect(decideEnsure(container('running', madeFrom('devcontainer')), now)).toEqual({ action: 'recreate', reasons: [{ kind: 'drift', part: 'devcontainer' }] });
    // A plain workspace brought up from a devcontainer.json now: drift, named.
    expect(decideEnsure(container('stopped', desired), now)).toEqual({ action: 'recreate', reasons: [{ kind: 'drift', part: 'devcontainer' }] });
    expect(decideEnsure(container('stopped', now), now)).toEqual({ action: 'start' });
    expect(describeReason({ kind: 'drift', part: 'devcontainer' })).toBe('devcontainer.json or its Dockerfile changed');
  });

  it('without desired parts a drift is "spec changed"', () => {
    expect(decideEnsure(container('running', madeFrom('env')), { hash: desired.hash })).toEqual({ action: 'recreate', reasons: [{ kind: 'spec' }] });
  });

  it('parts that compare equal although the hash differs say "spec changed", never nothing', () => {
    expect(decideEnsure(container('running', { hash: 'stale', parts: desired.parts }), desired)).toEqual({ action: 'recreate', reasons: [{ kind: 'spec' }] });
  });

  it('words each reason once, as events and plans show them', () => {
    expect(ALL_PARTS.map((part) => describeReason({ kind: 'drift', part }))).toEqual(['image changed', 'mounts changed', 'env changed', 'resources changed', 'ports changed', 'network changed']);
    expect(describeReason({ kind: 'spec' })).toBe('spec changed');
    expect(describeReason({ kind: 'state', state: 'paused' })).toBe('the container is paused');
  });

  it('reads ownership and the spec labels off an engine container', () => {
    const labels = { [LABELS.managed]: 'true', [LABELS.owner]: owner, [LABELS.specHash]: desired.hash, [LABELS.specParts]: desired.parts };
    expect(observedContainer({ state: 'running', labels }, owner)).toEqual({ state: 'running', specHash: desired.hash, specParts: desired.parts, ours: true });
    expect(observedContainer({ state: 'running', labels }, 'installation-b').ours).toBe(false);
    expect(observedContainer({ state: 'stopped', labels: { [LABELS.owner]: owner } }, owner)).toEqual({ state: 'stopped', specHash: null, specParts: undefined, ours: false });
  });
});
