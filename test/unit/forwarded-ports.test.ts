import { describe, expect, it } from 'vitest';
import { readDevcontainerText } from '../../src/devcontainer/read.js';
import { planDevcontainer } from '../../src/workspace/devcontainer-up.js';
import { forwardedPortsOf, previewPoolFor, splitPool } from '../../src/workspace/forwarded-ports.js';
import { normalizeSpec } from '../../src/workspace/spec.js';
import type { PublishedPort } from '../../src/runtime/types.js';

const read = (text: string) => readDevcontainerText(text, '/w/.devcontainer/devcontainer.json', '/w', { HOME: '/home/dev' });
const slot = (i: number, hostPort: number): PublishedPort => ({ hostAddress: '127.0.0.1', hostPort, containerPort: 41000 + i, protocol: 'tcp' });

describe('forwarded ports: devcontainer.json ports → the records kept with the workspace', () => {
  it('maps forwardPorts and appPort with their portsAttributes: label, protocol, onAutoForward, service', () => {
    const config = read(
      JSON.stringify({
        image: 'i',
        forwardPorts: [3000, 'db:5432', 'localhost:9229', 3000],
        appPort: ['127.0.0.1:8080:8081'],
        portsAttributes: {
          '3000': { label: 'Frontend', onAutoForward: 'openBrowser' },
          'db:5432': { label: 'Postgres' },
          '9000-9999': { label: 'Debug range', protocol: 'https' },
          '8081': { label: 'App', protocol: 'http', onAutoForward: 'silent' },
        },
      }),
    ).config;
    expect(forwardedPortsOf(config.ports)).toEqual([
      { port: 3000, label: 'Frontend', protocol: null, service: null, onAutoForward: 'openBrowser' },
      { port: 5432, label: 'Postgres', protocol: null, service: 'db', onAutoForward: null },
      // localhost:9229 is the workspace's own; its label comes from the range that holds it.
      { port: 9229, label: 'Debug range', protocol: 'https', service: null, onAutoForward: null },
      { port: 8081, label: 'App', protocol: 'http', service: null, onAutoForward: 'silent' },
    ]);
  });

  it('label lookup: the port itself wins over a range; a port outside every range has none; a bad protocol is none', () => {
    const ports = read(
      JSON.stringify({ image: 'i', forwardPorts: [4000, 4500, 5000, 7000], portsAttributes: { '4000-4999': { label: 'Range', protocol: 'gopher' }, '4500': { label: 'Exact' }, '5000': 'not an object' } }),
    ).config.ports;
    expect(forwardedPortsOf(ports).map((p) => [p.port, p.label, p.protocol])).toEqual([
      [4000, 'Range', null],
      [4500, 'Exact', null],
      [5000, null, null],
      [7000, null, null],
    ]);
  });

  it('the plan records them with the workspace and sizes the pool: a slot per own port (Apple: on top of its 8)', () => {
    const plan = planDevcontainer(read('{"image":"i","forwardPorts":[3000,"db:5432",8080],"portsAttributes":{"3000":{"label":"Frontend"}}}'), { root: '/w' });
    expect(plan.input.devcontainer?.ports?.map((p) => [p.service, p.port, p.label])).toEqual([
      [null, 3000, 'Frontend'],
      ['db', 5432, null],
      [null, 8080, null],
    ]);
    expect(plan.input.previewPorts).toBe(2);
    expect(previewPoolFor(plan.input.devcontainer?.ports ?? [], 'apple')).toBe(10);
    expect(previewPoolFor([], 'docker')).toBeUndefined();
    // No ports: the spec records none (specs read as they always did).
    expect(planDevcontainer(read('{"image":"i"}'), { root: '/w' }).input.devcontainer?.ports).toBeUndefined();
  });

  it('the record survives normalisation (the ledger), cleaned of what is not a port or text', () => {
    const spec = normalizeSpec({
      root: '/w',
      image: 'i',
      devcontainer: {
        file: '/w/.devcontainer/devcontainer.json',
        hash: 'h',
        ports: [
          { port: 3000, label: 'Frontend', protocol: 'https', service: null, onAutoForward: 'notify' },
          { port: 0, label: null, protocol: null, service: null, onAutoForward: null },
          { port: 1.5, label: null, protocol: null, service: null, onAutoForward: null },
          { port: 80, label: 7 as unknown as string, protocol: 'ftp' as 'http', service: null, onAutoForward: null },
          // The repository's text reaches terminals: an escape sequence in a label is dropped, not printed.
          { port: 81, label: 'Evil\u001b]0;pwned\u0007\u009b2J', protocol: null, service: null, onAutoForward: null },
        ],
      },
    });
    expect(spec.devcontainer?.ports).toEqual([
      { port: 3000, label: 'Frontend', protocol: 'https', service: null, onAutoForward: 'notify' },
      { port: 80, label: null, protocol: null, service: null, onAutoForward: null },
      { port: 81, label: 'Evil]0;pwned2J', protocol: null, service: null, onAutoForward: null },
    ]);
  });

  it('splits the pool: the first slots go to the own ports in declared order, dev servers get the rest', () => {
    const ports = forwardedPortsOf(read('{"image":"i","forwardPorts":["db:5432",3000,8080]}').config.ports);
    // Published out of order, with a non-pool port among them.
    const published = [slot(2, 50002), slot(0, 50000), { hostAddress: '127.0.0.1', hostPort: 50100, containerPort: 22, protocol: 'tcp' as const }, slot(1, 50001)];
    const { forwarded, devServers } = splitPool(ports, published);
    expect([...forwarded].map(([port, s]) => [port, s.hostPort])).toEqual([
      [3000, 50000],
      [8080, 50001],
    ]);
    expect(devServers.map((p) => p.hostPort).sort()).toEqual([50002, 50100]);
    // Fewer slots than ports (a user's --preview-ports 1): the later ports have none, dev servers none.
    const short = splitPool(ports, [slot(0, 50000)]);
    expect([...short.forwarded.keys()]).toEqual([3000]);
    expect(short.devServers).toEqual([]);
    // No record: the whole pool is the dev servers'.
    expect(splitPool([], published).devServers).toHaveLength(4);
  });
});
