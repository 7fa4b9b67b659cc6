/**
 * A Docker-like host (its endpoints on bridge br0, like docker0) beside a routed host, under
 * Rancher stack isolation applied with `netpol apply`, on both backends. With
 * net.bridge.bridge-nf-call-iptables = 1 the measured matrix equals `reach`, same-bridge pairs
 * included, and nothing is reported. Set to 0 (inside the lab host's namespace only), apply,
 * status, readHost and the Network resource warn, naming host, bridge and sysctl, and the warning
 * is true: a denied pair on the bridge connects. The routed host never warns.
 */
import * as fs from 'fs';
import { Lab, Matrix, requireLabPrerequisites } from '../../lab/lab';
import { writeLabModel } from '../../e2e/lab-model';
import { runCli } from '../../support/cli';
import { ModelInput } from '../../../provider/model/model';
import { READ_STEPS } from '../../../provider/targets/ssh/apply-options';
import { readHost } from '../../../provider/targets/ssh/hosts';
import { observeSsh } from '../../../provider/targets/ssh/session';
import { LOCK_TABLE_STEP } from '../../../provider/targets/ssh/table-lock';
import { AppliedHost, checkNetwork, createNetwork, deleteNetwork, readNetwork } from '../../../provider/resources/network-operations';
import { labTarget } from './support';

type Family = 'iptables' | 'ip6tables';

const model: ModelInput = {
  name: 'bridged-host',
  hosts: [{ name: 'hb' }, { name: 'hr' }],
  endpoints: [
    { name: 'a1', host: 'hb', ips: ['10.0.0.1'], stack: 'stack_a', service: 'one' },
    { name: 'a2', host: 'hb', ips: ['10.0.0.2'], stack: 'stack_a', service: 'two' },
    { name: 'b1', host: 'hb', ips: ['10.0.0.3'], stack: 'stack_b', service: 'one' },
    { name: 'a3', host: 'hr', ips: ['10.0.0.4'], stack: 'stack_a', service: 'three' },
    { name: 'b2', host: 'hr', ips: ['10.0.0.5'], stack: 'stack_b', service: 'two' },
  ],
  network: { defaultPolicyAction: 'deny', policy: [{ within: 'stack', action: 'allow' }] },
};

const warning = (family: Family, value: string): string =>
  `hb: bridge br0 has ports, but net.bridge.bridge-nf-call-${family} is ${value}: traffic between endpoints on that bridge bypasses the rules. ` +
  'Set it to 1 (as Docker does), or route the endpoints instead of bridging them.';

let lab: Lab;

beforeAll(async () => {
  await requireLabPrerequisites();
  lab = await Lab.create({
    hosts: [{ name: 'hb', bridged: true }, { name: 'hr' }],
    endpoints: (model.endpoints ?? []).map((e) => ({ name: e.name, host: e.host ?? '', listen: { tcp: [80] } })),
  });
}, 120_000);

afterAll(async () => {
  await lab?.destroy();
});

/**
 * Sets a bridge-nf-call sysctl inside hb's namespace. These sysctls are per network namespace on
 * current kernels; should this one share them, the machine's value is put back at once and the
 * test stops, so nothing outside the lab stays changed.
 */
async function setBridgeNfCall(family: Family, value: 0 | 1): Promise<void> {
  const machine = `/proc/sys/net/bridge/bridge-nf-call-${family}`;
  const before = fs.readFileSync(machine, 'utf8');
  await lab.exec('hb', ['sysctl', '-q', '-w', `net.bridge.bridge-nf-call-${family}=${value}`]);
  if (fs.readFileSync(machine, 'utf8') !== before) {
    fs.writeFileSync(machine, before);
    throw new Error(`net.bridge.bridge-nf-call-${family} is not per network namespace on this kernel; the machine's value was restored and the test cannot run here`);
  }
  expect((await lab.exec('hb', ['cat', machine])).stdout.trim()).toBe(String(value));
}

async function reach(file: string): Promise<Matrix> {
  const r = await runCli(['reach', file, '--format', 'json', '--probe', 'tcp/80']);
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.out) as { probes: { probe: string; matrix: Record<string, Record<string, boolean>> }[] };
  return Object.fromEntries(doc.probes.map((p) => [p.probe, p.matrix]));
}

test('lab: a bridged host has its endpoints on br0 behind the gateway; with no rules everything connects, IPv4 and IPv6, on the bridge and across hosts', async () => {
  const hb = lab.host('hb');
  expect(hb.bridged).toBe(true);
  expect(lab.host('hr').bridged).toBe(false);
  const ports = (await lab.exec('hb', ['ip', '-o', 'link', 'show', 'master', 'br0'])).stdout.trim().split('\n');
  expect(ports.map((l) => /^\d+: (v\d+)@/.exec(l)?.[1]).sort()).toEqual(['v0', 'v1', 'v2']);
  expect((await lab.exec('hb', ['ip', '-o', 'addr', 'show', 'dev', 'br0'])).stdout).toMatch(new RegExp(`inet 10\\.231\\.${hb.index + 1}\\.1/24 .*\\n.*inet6 fd00:231:0:${hb.index + 1}::1/64`));
  expect((await lab.execEndpoint('a1', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout).toContain(`inet ${lab.endpoint('a1').ipv4}/24`);
  expect((await lab.exec('hr', ['ip', 'link', 'show', 'br0'], { check: false })).code).not.toBe(0);
  for (const family of [4, 6] as const) {
    const m = await lab.measureMatrix(['tcp/80'], { family });
    for (const [from, row] of Object.entries(m['tcp/80'])) for (const [to, ok] of Object.entries(row)) expect({ family, from, to, ok }).toEqual({ family, from, to, ok: true });
  }
}, 60_000);

describe.each([['nftables' as const], ['iptables' as const]])('stack isolation on %s hosts', (backend) => {
  test('bridge-nf-call = 1: no warning and the matrix equals reach; = 0: apply and status warn for hb only, and the denied same-bridge pair connects', async () => {
    await setBridgeNfCall('iptables', 1);
    await setBridgeNfCall('ip6tables', 1);
    const file = writeLabModel(model, lab, backend);

    let r = await runCli(['apply', file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('apply: 2 host(s), 2 changed');
    expect(r.out).not.toContain('warning');
    const expected = await reach(file);
    // The same-bridge pairs the test is about: one allowed, one denied.
    expect([expected['tcp/80'].a1.a2, expected['tcp/80'].a1.b1, expected['tcp/80'].b1.a2]).toEqual([true, false, false]);
    expect(await lab.measureMatrix(['tcp/80'])).toEqual(expected);
    for (const h of ['hb', 'hr']) expect((await readHost(labTarget(lab, h), h, backend, tableOf(r.out))).warnings).toBeUndefined();

    await setBridgeNfCall('iptables', 0);
    try {
      r = await runCli(['status', file]);
      expect(r.out).toBe(`hb: in sync\n  warning: ${warning('iptables', '0')}\nhr: in sync\n`);
      expect(r.code).toBe(0);

      // The check rides on the read: a no-op apply takes the table's lock and only reads, in one
      // session (one command with nftables, the host's record in it; iptables also saves its own sets).
      const traffic: Record<string, { sessions: number; steps: string[] }> = {};
      const of = (h: string) => (traffic[h] ??= { sessions: 0, steps: [] });
      const stop = observeSsh({ sessionOpened: (h) => of(h).sessions++, commandStarted: (h, step) => of(h).steps.push(step) });
      try {
        r = await runCli(['apply', file]);
      } finally {
        stop();
      }
      const reads = backend === 'nftables' ? ['read table'] : ['read iptables state', 'read ipsets'];
      const noOp = { sessions: 1, steps: [LOCK_TABLE_STEP, ...reads] };
      expect(traffic).toEqual({ hb: noOp, hr: noOp });
      expect(reads.every((step) => READ_STEPS.has(step))).toBe(true);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toMatch(new RegExp(`^hb: up to date \\(${backend}, netpol_[0-9a-f]{8}, [0-9a-f]{12}\\)\\n  warning: hb: bridge br0 has ports, but net\\.bridge\\.bridge-nf-call-iptables is 0: `, 'm'));
      expect(r.out.match(/warning:/g)).toHaveLength(1);
      expect(r.out).toContain('apply: 2 host(s), 0 changed, 2 up to date');

      expect(await readHost(labTarget(lab, 'hb'), 'hb', backend, tableOf(r.out))).toMatchObject({ present: true, warnings: [warning('iptables', '0')] });
      expect((await readHost(labTarget(lab, 'hr'), 'hr', backend, tableOf(r.out))).warnings).toBeUndefined();

      // The warning is true: the policy denies a1 → b1, and on the bridge it connects now.
      expect(await lab.probe('a1', 'b1', 'tcp/80')).toBe(true);
      // Routed traffic into the bridge still passes the forward hook and stays filtered.
      expect(await lab.probe('a3', 'b1', 'tcp/80')).toBe(false);
    } finally {
      await setBridgeNfCall('iptables', 1);
    }
    expect(await lab.probe('a1', 'b1', 'tcp/80')).toBe(false);

    // IPv6 is checked on every host whatever the model's addresses (here IPv4 only).
    await setBridgeNfCall('ip6tables', 0);
    try {
      r = await runCli(['status', file]);
      expect(r.out).toBe(`hb: in sync\n  warning: ${warning('ip6tables', '0')}\nhr: in sync\n`);
    } finally {
      await setBridgeNfCall('ip6tables', 1);
    }

    r = await runCli(['destroy', file]);
    expect(r.code).toBe(0);
    for (const h of ['hb', 'hr']) {
      expect((await lab.exec(h, ['nft', 'list', 'tables'])).stdout).not.toContain('netpol_');
      expect((await lab.exec(h, ['iptables-save'])).stdout).not.toMatch(/NETPOL_/i);
    }
  }, 180_000);
});

function tableOf(applyOut: string): string {
  const table = /\((?:nftables|iptables), (netpol_[0-9a-f]{8}),/.exec(applyOut)?.[1];
  if (!table) throw new Error(`no table in the apply output:\n${applyOut}`);
  return table;
}

test('the Network resource: applied carries the warning after create and refresh, and a refresh drops it once the host is fixed', async () => {
  const key = lab.hostSsh('hb').privateKey;
  const inputs = {
    name: 'bridged-host-resource',
    hosts: (model.hosts ?? []).map((h) => {
      const ssh = lab.hostSsh(h.name);
      return { name: h.name, ssh: { host: ssh.host, port: ssh.port, user: ssh.user, hostKey: ssh.hostKey } };
    }),
    credentials: Object.fromEntries((model.hosts ?? []).map((h) => [h.name, { privateKey: key }])),
    endpoints: (model.endpoints ?? []).map((e) => ({ ...e, ips: [lab.endpoint(e.name).ipv4] })),
    defaultPolicyAction: 'deny',
    policy: [{ within: 'stack', action: 'allow' }],
  };
  const checked = checkNetwork(inputs);
  expect(checked.failures).toEqual([]);
  await setBridgeNfCall('iptables', 0);
  let created: { id: string; outs: Record<string, unknown> } | undefined;
  try {
    created = await createNetwork(checked.inputs);
    const applied = created.outs.applied as Record<string, AppliedHost>;
    expect(applied.hb.warnings).toEqual([warning('iptables', '0')]);
    expect(applied.hr).not.toHaveProperty('warnings');
    expect(JSON.stringify(created.outs.applied)).not.toContain(key.split('\n')[1]);

    const refreshed = await readNetwork(created.id, created.outs);
    expect((refreshed.props.applied as Record<string, AppliedHost>).hb.warnings).toEqual([warning('iptables', '0')]);
    expect(refreshed.inputs).toBeUndefined(); // a warning is not drift

    await setBridgeNfCall('iptables', 1);
    const fixed = await readNetwork(created.id, refreshed.props);
    expect((fixed.props.applied as Record<string, AppliedHost>).hb).not.toHaveProperty('warnings');
    expect(fixed.inputs).toBeUndefined();
  } finally {
    await setBridgeNfCall('iptables', 1);
    if (created) await deleteNetwork(created.outs);
  }
  for (const h of ['hb', 'hr']) expect((await lab.exec(h, ['nft', 'list', 'tables'])).stdout).not.toContain('netpol_');
}, 120_000);
