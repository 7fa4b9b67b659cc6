/**
 * Docker lab hosts: a real dockerd per host namespace, containers from the lab's own busybox
 * image, probes from inside the containers' network namespaces. Under CI=true a machine without
 * root or docker.io fails here (requireDockerLabPrerequisites throws); it never skips.
 */
import * as fs from 'fs';
import { Lab, requireDockerLabPrerequisites } from './lab';
import { isAlive, run } from './run';

let lab: Lab;
const PROBES = ['tcp/80', 'udp/53', 'icmp/8'];
let rootRulesBefore: string;

beforeAll(async () => {
  await requireDockerLabPrerequisites();
  rootRulesBefore = (await run(['nft', 'list', 'ruleset'])).stdout;
  lab = await Lab.create({
    hosts: [{ name: 'd1', docker: true }, { name: 'd2', docker: true }],
    endpoints: [],
    containers: [
      { name: 'web', host: 'd1', labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' }, listen: { tcp: [80], udp: [53] } },
      { name: 'cache', host: 'd1', listen: { tcp: [80], udp: [53] } },
      { name: 'db', host: 'd2', labels: { 'netpol.namespace': 'data' }, listen: { tcp: [80], udp: [53] } },
    ],
  });
}, 120_000);

afterAll(async () => {
  await lab?.destroy();
});

test('each host runs its own dockerd; containers get addresses of their host\'s routed bridge, v4 and v6', async () => {
  expect(lab.dockerdPid('d1')).not.toBe(lab.dockerdPid('d2'));
  const d1 = lab.host('d1');
  const web = lab.container('web');
  const db = lab.container('db');
  expect(web.ipv4).toMatch(new RegExp(`^10\\.231\\.${d1.index + 1}\\.\\d+$`));
  expect(db.ipv4).toMatch(new RegExp(`^10\\.231\\.${lab.host('d2').index + 1}\\.\\d+$`));
  expect(web.ipv6).toMatch(/^fd00:231:0:1:/);
  expect(web.labels).toEqual({ 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' });
  const version = await lab.docker('d1', ['version', '--format', '{{.Server.Version}}']);
  expect(version.stdout.trim()).toMatch(/^20\.10\./);
  // docker on the host itself (what discovery runs over SSH) finds this daemon at /run/docker.sock
  const ps = await lab.exec('d1', ['/usr/bin/docker', 'ps', '--format', '{{.Names}}']);
  expect(ps.stdout.split('\n').filter(Boolean).sort()).toEqual(['cache', 'web']);
  console.log(`dockerd start (spawn to API answering): ${JSON.stringify(lab.dockerdStartMs)} ms`);
});

test('Docker\'s rules live in the host namespaces, none in the machine\'s; no masquerade in the routed topology', async () => {
  const hostRules = (await lab.exec('d1', ['iptables-save'])).stdout;
  expect(hostRules).toContain(':DOCKER-USER');
  expect(hostRules).toContain('-A DOCKER-USER -i transit -o docker0 -j ACCEPT');
  expect(hostRules).not.toMatch(/-A POSTROUTING -s \S+ ! -o docker0 -j MASQUERADE/); // only Docker's hairpin rule for the host's own addresses
  expect((await run(['nft', 'list', 'ruleset'])).stdout).toBe(rootRulesBefore);
});

test('routed: every container reaches every other, on one host and across hosts, measured from inside the containers', async () => {
  const m = await lab.measureMatrix(PROBES);
  for (const probe of PROBES) {
    for (const from of ['web', 'cache', 'db']) {
      for (const to of ['web', 'cache', 'db']) expect({ probe, from, to, ok: m[probe][from][to] }).toEqual({ probe, from, to, ok: true });
    }
  }
  expect(await lab.probe('web', 'db', 'tcp/81')).toBe(false); // a closed port measures as closed
  const v6 = await lab.measureMatrix(['tcp/80'], { family: 6 });
  expect(Object.values(v6['tcp/80']).every((row) => Object.values(row).every(Boolean))).toBe(true);
});

test('a container restarted with newAddress comes back with another address and its listeners', async () => {
  const before = lab.container('cache');
  const after = await lab.restartContainer('cache', { newAddress: true });
  expect(after.ipv4).not.toBe(before.ipv4);
  expect(after.pid).not.toBe(before.pid);
  expect(await lab.probe('db', 'cache', 'tcp/80')).toBe(true);
  expect(await lab.probe('cache', 'web', 'udp/53')).toBe(true);
});

test('default topology: Docker as installed (172.17.0.0/16, masquerade); destroy stops the daemons by pid and removes their containers, mounts, cgroups and rules; twice is fine', async () => {
  const other = await Lab.create({ hosts: [{ name: 'x', docker: true }], endpoints: [], containers: [{ name: 'c1', host: 'x', listen: { tcp: [80] } }], dockerTopology: 'default' });
  expect(other.container('c1').ipv4).toMatch(/^172\.17\./);
  const nat = (await other.exec('x', ['iptables-save', '-t', 'nat'])).stdout;
  expect(nat).toContain('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE');
  const pid = other.dockerdPid('x');
  const containerPid = other.container('c1').pid;
  const dir = other.dir;
  const netns = other.host('x').netns;
  await other.destroy();
  await other.destroy();
  expect(isAlive(pid)).toBe(false);
  expect(isAlive(containerPid)).toBe(false);
  expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  expect((await run(['ip', 'netns', 'list'])).stdout).not.toContain(netns);
  expect(fs.existsSync(`/sys/fs/cgroup/memory/netpol-lab-${other.id}-h0`)).toBe(false);
  expect(fs.existsSync(dir)).toBe(false);
  expect((await run(['nft', 'list', 'ruleset'])).stdout).toBe(rootRulesBefore);
  expect(lab.container('web').pid).toBeGreaterThan(0); // the first lab is untouched
  expect(await lab.probe('web', 'db', 'tcp/80')).toBe(true);
}, 120_000);
