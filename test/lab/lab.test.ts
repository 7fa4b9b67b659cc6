import * as fs from 'fs';
import { Lab, Matrix, requireLabPrerequisites } from './lab';
import { run } from './run';

let lab: Lab;
const PROBES = ['tcp/80', 'udp/53', 'icmp/8'];

beforeAll(async () => {
  await requireLabPrerequisites();
  lab = await Lab.create({
    hosts: [{ name: 'h1' }, { name: 'h2' }],
    endpoints: [
      { name: 'stack_one/service_one', host: 'h1', listen: { tcp: [80, 6379], udp: [53] } },
      { name: 'stack_one/service_two', host: 'h1', listen: { tcp: [80], udp: [53] } },
      { name: 'stack_two/service_one', host: 'h2', listen: { tcp: [80], udp: [53] } },
    ],
  });
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
});

const [A, B, C] = ['stack_one/service_one', 'stack_one/service_two', 'stack_two/service_one'];

function cells(m: Matrix): boolean[] {
  return Object.values(m).flatMap((byFrom) => Object.values(byFrom).flatMap((byTo) => Object.values(byTo)));
}

test('names fit the kernel limit and carry the run id', () => {
  for (const n of [...lab.hosts.map((h) => h.netns), ...lab.endpoints.map((e) => e.netns)]) {
    expect(n.length).toBeLessThanOrEqual(15);
    expect(n).toContain(lab.id);
  }
});

test('with no rules everything reaches everything, IPv4 and IPv6, on one host and across hosts', async () => {
  const v4 = await lab.measureMatrix(PROBES);
  expect(Object.keys(v4)).toEqual(PROBES);
  expect(Object.keys(v4['tcp/80'][A])).toEqual([A, B, C]);
  expect(cells(v4).every(Boolean)).toBe(true);
  const v6 = await lab.measureMatrix(PROBES, { family: 6 });
  expect(cells(v6).every(Boolean)).toBe(true);
  // a port nobody listens on is measured as closed (the probe can say false)
  expect(await lab.probe(A, C, 'tcp/81')).toBe(false);
  expect(await lab.probe(A, C, 'udp/54')).toBe(false);
  expect(await lab.probe(B, A, 'tcp/6379')).toBe(true);
});

test('a hand-written nft ruleset in the host namespaces blocks exactly the pairs it names', async () => {
  const { ipv4: a } = lab.endpoint(A);
  const { ipv4: b } = lab.endpoint(B);
  const { ipv4: c } = lab.endpoint(C);
  const table = (rules: string): string =>
    `table inet labtest {\n\tchain f {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tct state established,related accept\n${rules}\n\t}\n}\n`;
  await lab.exec('h1', ['nft', '-f', '-'], { stdin: table(`\t\tip saddr ${a} ip daddr ${b} drop`) });
  await lab.exec('h2', ['nft', '-f', '-'], { stdin: table(`\t\tip saddr ${a} ip daddr ${c} tcp dport 80 drop`) });
  try {
    const m = await lab.measureMatrix(PROBES);
    for (const probe of PROBES) {
      for (const from of [A, B, C]) {
        for (const to of [A, B, C]) {
          const blocked = (from === A && to === B) || (probe === 'tcp/80' && from === A && to === C);
          expect({ probe, from, to, reachable: m[probe][from][to] }).toEqual({ probe, from, to, reachable: !blocked });
        }
      }
    }
  } finally {
    await lab.exec('h1', ['nft', 'delete', 'table', 'inet', 'labtest'], { check: false });
    await lab.exec('h2', ['nft', 'delete', 'table', 'inet', 'labtest'], { check: false });
  }
});

test('ssh info pins a real host key; exec runs inside the host namespace', async () => {
  const info = lab.hostSsh('h1');
  expect(info).toMatchObject({ user: 'root', port: 22, host: lab.host('h1').address });
  expect(info.hostKey).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  expect(info.hostKeyLine).toMatch(/^ssh-ed25519 /);
  const addrs = (await lab.exec('h1', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'mgmt'])).stdout;
  expect(addrs).toContain(info.host);
});

test('stopSshd / startSshd', async () => {
  const { sshBanner } = await import('./sshd');
  await lab.stopSshd('h2');
  expect(await sshBanner(lab.host('h2').address)).toBe(false);
  await lab.startSshd('h2');
  expect(await sshBanner(lab.host('h2').address)).toBe(true);
});

test('a second lab runs alongside and destroy removes everything it made, twice is fine', async () => {
  const other = await Lab.create({ hosts: [{ name: 'x' }], endpoints: [{ name: 'e', host: 'x', listen: { tcp: [80] } }] });
  expect(other.host('x').address).not.toBe(lab.host('h1').address);
  const dir = other.dir;
  await other.destroy();
  await other.destroy();
  const netns = (await run(['ip', 'netns', 'list'])).stdout;
  expect(netns).not.toContain(`np${other.id}`);
  expect((await run(['ip', 'link'])).stdout).not.toContain(`np${other.id}`);
  expect(fs.existsSync(dir)).toBe(false);
  expect(netns).toContain(`np${lab.id}`); // the first lab is untouched
});
