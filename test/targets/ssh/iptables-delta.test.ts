/**
 * The iptables delta (iptables-delta.ts): table-driven cases on small hand-written texts, and the
 * oracle in throwaway network namespaces — the full apply of the previous ruleset followed by the
 * delta leaves exactly what the full apply of the new one leaves (iptables-save and ipset save,
 * order-insensitive where the kernel's order is, counters aside), over random policy changes.
 */
import { spawnSync } from 'node:child_process';
import { IptablesRuleset, hashRule, ownership, rulesText } from '../../../provider/ruleset';
import { validateIpsetText, validateRestoreText } from '../../../provider/ruleset/iptables-guard';
import { RenderError, renderHost } from '../../../provider/render';
import { iptablesDelta, splitRulesText } from '../../../provider/targets/ssh/iptables-delta';
import { setContents } from '../../../provider/targets/ssh/iptables-apply';
import { randomPolicySet } from '../../render/random-policy';

const T = 'netpol_0a1b2c3d';
const E = 'NETPOL_0A1B2C3D';

interface Shape {
  sets?: Record<string, string[]>;
  /** Chain suffix ('' = entry) → rules (without `-A CHAIN`). */
  chains: Record<string, string[]>;
  hash: string;
}

function texts(s: Shape): IptablesRuleset {
  const name = (suffix: string) => (suffix === '' ? E : `${E}_${suffix}`);
  const ipset = Object.entries(s.sets ?? {}).map(([n, m]) => [`create ${T}_${n} hash:ip family inet maxelem 65536 -exist`, `flush ${T}_${n}`, ...m.map((a) => `add ${T}_${n} ${a}`)].join('\n')).join('\n');
  const family = ['*filter', ...Object.keys(s.chains).map((c) => `:${name(c)} - [0:0]`), `:${E}_HASH - [0:0]`,
    ...Object.entries(s.chains).flatMap(([c, rules]) => rules.map((r) => `-A ${name(c)} ${r}`)), hashRule(E, s.hash), 'COMMIT', ''].join('\n');
  return { ipset: ipset ? `${ipset}\n` : '', v4: family, v6: family, entryChain: E };
}

const recorded = (s: Shape) => rulesText({ host: 'h', backend: 'iptables', table: T, hash: s.hash, iptables: texts(s) });

const base: Shape = {
  sets: { a_4: ['10.0.0.1', '10.0.0.2'], b_4: ['10.0.0.9'] },
  chains: { '': ['-d 10.0.0.1/32 -j NETPOL_0A1B2C3D_T1', '-d 10.0.0.2/32 -j NETPOL_0A1B2C3D_T2'], T1: [`-m set --match-set ${T}_a_4 src -j RETURN`, '-j DROP'], T2: [`-m set --match-set ${T}_b_4 src -j RETURN`, '-j DROP'] },
  hash: 'aaaa0000',
};

describe('delta cases', () => {
  test('one member joins a set: one add, only the hash chain is rewritten (both families)', () => {
    const d = iptablesDelta(recorded(base), texts({ ...base, sets: { ...base.sets, a_4: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] }, hash: 'bbbb0000' }));
    if (d.kind !== 'incremental') throw new Error(d.reason);
    expect(d.sets).toBe(`add ${T}_a_4 10.0.0.3\n`);
    expect(d.destroy).toBe('');
    expect(d.v4).toBe(['*filter', `:${E}_HASH - [0:0]`, hashRule(E, 'bbbb0000'), 'COMMIT', ''].join('\n'));
    expect(d.v6).toBe(d.v4);
  });

  test('one member leaves a set: one del', () => {
    const d = iptablesDelta(recorded(base), texts({ ...base, sets: { ...base.sets, a_4: ['10.0.0.2'] }, hash: 'bbbb0000' }));
    expect(d.kind === 'incremental' && d.sets).toBe(`del ${T}_a_4 10.0.0.1\n`);
  });

  test('a changed chain is declared (flushed) and refilled; unchanged chains are not named', () => {
    const d = iptablesDelta(recorded(base), texts({ ...base, chains: { ...base.chains, T2: [`-p tcp -m set --match-set ${T}_b_4 src -j RETURN`, '-j DROP'] }, hash: 'bbbb0000' }));
    if (d.kind !== 'incremental') throw new Error(d.reason);
    expect(d.changedChains.v4).toEqual([`${E}_T2`, `${E}_HASH`]);
    expect(d.v4).not.toContain(`${E}_T1`);
    expect(d.v4).not.toMatch(new RegExp(`^:${E} `, 'm'));
    expect(d.v4).toContain(`-A ${E}_T2 -p tcp -m set --match-set ${T}_b_4 src -j RETURN\n-A ${E}_T2 -j DROP\n`);
  });

  test('a removed chain and its set: the referrer is refilled, the chain flushed and -X in the same restore, the set destroyed after', () => {
    const next: Shape = { sets: { a_4: base.sets!.a_4 }, chains: { '': ['-d 10.0.0.1/32 -j NETPOL_0A1B2C3D_T1'], T1: base.chains.T1 }, hash: 'bbbb0000' };
    const d = iptablesDelta(recorded(base), texts(next));
    if (d.kind !== 'incremental') throw new Error(d.reason);
    expect(d.removedChains.v4).toEqual([`${E}_T2`]);
    expect(d.v4.split('\n')).toEqual(['*filter', `:${E} - [0:0]`, `:${E}_HASH - [0:0]`, `:${E}_T2 - [0:0]`, `-A ${E} -d 10.0.0.1/32 -j NETPOL_0A1B2C3D_T1`, hashRule(E, 'bbbb0000'), `-X ${E}_T2`, 'COMMIT', '']);
    expect(d.sets).toBe('');
    expect(d.destroy).toBe(`destroy ${T}_b_4\n`);
  });

  test('a new chain and a new set: the set is created with its members before the chains', () => {
    const next: Shape = { sets: { ...base.sets, c_4: ['10.0.0.7'] }, chains: { ...base.chains, T3: [`-m set --match-set ${T}_c_4 src -j RETURN`, '-j DROP'] }, hash: 'bbbb0000' };
    const d = iptablesDelta(recorded(base), texts(next));
    if (d.kind !== 'incremental') throw new Error(d.reason);
    expect(d.sets).toBe(`create ${T}_c_4 hash:ip family inet maxelem 65536 -exist\nadd ${T}_c_4 10.0.0.7\n`);
    expect(d.changedChains.v4).toEqual([`${E}_T3`, `${E}_HASH`]);
  });

  test('every delta passes the guard in delta mode', () => {
    const next: Shape = { sets: { a_4: ['10.0.0.5'], c_4: ['10.0.0.7'] }, chains: { '': ['-j NETPOL_0A1B2C3D_T3'], T3: [`-m set --match-set ${T}_c_4 src -j RETURN`, '-j DROP'] }, hash: 'bbbb0000' };
    const d = iptablesDelta(recorded(base), texts(next));
    if (d.kind !== 'incremental') throw new Error(d.reason);
    const own = ownership(T, E);
    validateIpsetText(d.sets + d.destroy, own, { delta: true });
    for (const f of ['v4', 'v6'] as const) validateRestoreText(f, d[f], 'bbbb0000', own, { delta: true });
    expect(d.sets + d.destroy).toMatch(/\ndel netpol_0a1b2c3d_a_4 10.0.0.1\n.*\ndestroy netpol_0a1b2c3d_b_4\n$/s);
  });

  const fulls: [string, () => string, IptablesRuleset, RegExp][] = [
    ['a record that is not an iptables text', () => 'table inet x {\n}\n', texts(base), /not an iptables rules text/],
    ['a kept set whose create line changes', () => recorded(base), { ...texts(base), ipset: texts(base).ipset.replace(`create ${T}_a_4 hash:ip family inet maxelem 65536`, `create ${T}_a_4 hash:ip family inet maxelem 70000`) }, /set netpol_0a1b2c3d_a_4 changes its create line/],
    ['another entry chain', () => recorded(base).replace(/NETPOL_0A1B2C3D/g, 'NETPOL_FFFFFFFF'), texts(base), /entry chain is not NETPOL_0A1B2C3D/],
    ['a recorded text cut short', () => recorded(base).replace(/COMMIT\n# ip6tables/, '# ip6tables'), texts(base), /does not end in COMMIT/],
    ['a rule of an undeclared chain', () => recorded(base).replace(`-A ${E}_T1 -j DROP`, '-A OTHER -j DROP'), texts(base), /not a rule of a declared chain/],
  ];
  test.each(fulls)('full: %s', (_what, previous, next, says) => {
    const d = iptablesDelta(previous(), next);
    expect(d.kind).toBe('full');
    expect(d.kind === 'full' && d.reason).toMatch(says);
  });

  test('splitRulesText reads back what rulesText wrote', () => {
    const t = texts(base);
    expect(splitRulesText(recorded(base))).toEqual({ ipset: t.ipset, v4: t.v4, v6: t.v6 });
  });
});

/** Runs `script` in a new network namespace; returns its output (throws on failure). */
function inNetns(name: string, script: string, env: Record<string, string>): string {
  const r = spawnSync('ip', ['netns', 'exec', name, 'sh', '-ec', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${script.split('\n')[0]}…: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const FULL = [
  'printf "%s" "$IPSET" | ipset restore',
  'printf "%s" "$V4" | iptables-restore --noflush',
  'printf "%s" "$V6" | ip6tables-restore --noflush',
  'iptables -A FORWARD -j "$ENTRY"',
  'ip6tables -A FORWARD -j "$ENTRY"',
].join('\n');
const DELTA = [
  'printf "%s" "$SETS" | ipset restore -exist',
  'printf "%s" "$V4" | iptables-restore --noflush',
  'printf "%s" "$V6" | ip6tables-restore --noflush',
  'printf "%s" "$DESTROY" | ipset restore',
].join('\n');
const SAVE = 'echo @@v4; iptables-save -t filter; echo @@v6; ip6tables-save -t filter; echo @@sets; ipset save';

/** The saved state, comparable: rules grouped per chain in their order, chains and declarations sorted, sets by content. */
function comparable(saved: string): string {
  const [, v4 = '', v6 = '', sets = ''] = saved.split(/^@@(?:v4|v6|sets)$/m);
  const family = (text: string) => {
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('*') && l !== 'COMMIT');
    const declares = lines.filter((l) => l.startsWith(':')).map((l) => l.replace(/\[\d+:\d+\]$/, '')).sort();
    const byChain = new Map<string, string[]>();
    for (const l of lines.filter((x) => x.startsWith('-A '))) {
      const c = l.split(' ')[1];
      byChain.set(c, [...(byChain.get(c) ?? []), l]);
    }
    return [...declares, ...[...byChain.keys()].sort().flatMap((c) => byChain.get(c) ?? [])].join('\n');
  };
  const contents = [...setContents(sets.split('\n').filter(Boolean))].map(([n, c]) => `${n} ${c}`).sort().join('\n');
  return `${family(v4)}\n--\n${family(v6)}\n--\n${contents}`;
}

const toolsHere = process.getuid?.() === 0 && ['ip', 'iptables-restore', 'ip6tables-restore', 'ipset'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);

describe('oracle: full(previous) then the delta equals full(new), in network namespaces', () => {
  test('root and the tools are here (this suite never skips)', () => {
    expect(toolsHere).toBe(true);
  });

  const ns = [`netpol-delta-${process.pid}-a`, `netpol-delta-${process.pid}-b`];
  beforeAll(() => {
    for (const n of ns) spawnSync('ip', ['netns', 'add', n]);
  });
  afterAll(() => {
    for (const n of ns) spawnSync('ip', ['netns', 'del', n]);
  });
  /** Host h2's iptables ruleset of a random policy set, or undefined when iptables cannot express it (RenderError). */
  const render = (seed: number) => {
    try {
      const r = renderHost({ ...randomPolicySet(seed), network: 'oracle' }, 'h2');
      return r.iptables ? r : undefined;
    } catch (err) {
      if (err instanceof RenderError) return undefined;
      throw err;
    }
  };
  const reset = 'iptables -F FORWARD; ip6tables -F FORWARD; iptables -F; iptables -X; ip6tables -F; ip6tables -X; ipset destroy 2>/dev/null || true';

  test('over 40 random changes, every delta is incremental and lands on the full apply\'s state', () => {
    let incremental = 0;
    let smaller = 0;
    for (let seed = 1; incremental < 40; seed++) {
      const prev = render(seed);
      const next = render(seed + 1000);
      if (!prev || !next) continue;
      const d = iptablesDelta(rulesText(prev), next.iptables!);
      if (d.kind !== 'incremental') throw new Error(`seed ${seed}: ${d.reason}`);
      incremental++;
      const own = ownership(next.table, next.iptables!.entryChain);
      validateIpsetText(d.sets + d.destroy, own, { delta: true });
      for (const f of ['v4', 'v6'] as const) validateRestoreText(f, d[f], next.hash, own, { delta: true });
      const full = (r: NonNullable<typeof prev>) => ({ IPSET: r.iptables!.ipset, V4: r.iptables!.v4, V6: r.iptables!.v6, ENTRY: r.iptables!.entryChain });
      inNetns(ns[0], `${reset}\n${FULL}`, full(prev));
      inNetns(ns[0], DELTA, { SETS: d.sets, V4: d.v4, V6: d.v6, DESTROY: d.destroy });
      inNetns(ns[1], `${reset}\n${FULL}`, full(next));
      const got = comparable(inNetns(ns[0], SAVE, {}));
      expect(got).toContain(`netpol:${next.hash}`);
      expect(got).toBe(comparable(inNetns(ns[1], SAVE, {})));
      if (d.sets.length + d.v4.length + d.v6.length + d.destroy.length < rulesText(next).length) smaller++;
    }
    expect(incremental).toBe(40);
    expect(smaller).toBeGreaterThan(0);
  });
});
