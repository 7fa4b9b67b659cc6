/**
 * The namespace lab: real hosts made of Linux network namespaces, for end-to-end tests.
 *
 *   root namespace ──veth (management /30)── host netns (sshd, nftables, forwarding)
 *                                                  │ veth per endpoint (routed /32, gateway .1)
 *                                                  │ or, on a bridged host, a port of bridge br0
 *                                                  │ (gateway .1/24 on br0, like docker0)
 *                                              endpoint netns (listeners)
 *   host netns ──veth── "switch" netns (bridge) ──veth── other host netns   (routes to each other's
 *                                                                           endpoint and mgmt prefixes)
 *
 * Endpoint to endpoint traffic always crosses the FORWARD path of the host(s) it passes, so
 * `hook forward` rules in a host namespace filter it, on one host and across hosts; except on a
 * bridged host, where traffic between two of its endpoints is bridged and reaches that hook only
 * while the namespace's net.bridge.bridge-nf-call-iptables / -ip6tables are 1 (the default in a
 * new namespace here).
 * Everything is named with a per-run id and torn down by `destroy()`, also after failures.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import * as A from './addressing';
import { DOCKER_PACKAGES, DockerdOptions, DockerdRecord, LAB_IMAGE, buildImageTar, docker, inspectContainer, missingDockerTools, startDockerd } from './docker';
import { LabRecord, sweepStaleLabs, teardownRecord, withLabLock, writeRecord } from './registry';
import { RunResult, isAlive, mapLimit, run, stopProcess, sleep } from './run';
import { KeyPair, LOGIN_USER, generateKey, inHost, startAnchor, startSshd, sshBanner, writeLoginFiles, writeSshdConfig } from './sshd';

const AGENT = path.join(__dirname, 'agent.py');
const PYTHON = '/usr/bin/python3';

export interface LabHostSpec {
  name: string;
  /**
   * Attach the host's endpoints to a bridge `br0` in the host namespace, as Docker does with
   * docker0, instead of one routed veth each: br0 carries the gateway with the host's /24 (and
   * /64), endpoints get an address in that prefix and a default route via the gateway.
   * @default false
   */
  bridged?: boolean;
  /**
   * The host runs its own dockerd (see docker.ts) and carries containers (LabSpec.containers)
   * instead of namespace endpoints. The bridge docker0 takes the host's endpoint prefix
   * (routed topology) or Docker's default 172.17.0.0/16 (LabSpec.dockerTopology "default").
   * @default false
   */
  docker?: boolean;
}

/** A container on a Docker lab host, started from the lab's own busybox image. */
export interface LabContainerSpec {
  /** The container's Docker name: letters, digits, '_', '.', '-'. */
  name: string;
  host: string;
  labels?: Record<string, string>;
  /** Ports with a listener (the lab's agent, in the container's network namespace). */
  listen?: { tcp?: number[]; udp?: number[] };
  /** Published ports, `docker run -p` style: `HOSTPORT:CONTAINERPORT` (TCP), on every host address. */
  publish?: string[];
}

/**
 * How Docker lab hosts are wired:
 * - `routed`: host i's docker0 is 10.231.(i+1).1/24 (and fd00:231:0:(i+1)::/64), routed between
 *   hosts over the transit link; no masquerade (daemon "ip-masq": false); DOCKER-USER accepts
 *   routed traffic from the transit link to docker0, which Docker's FORWARD chain would otherwise
 *   drop for unpublished ports (Docker documents DOCKER-USER as the place for such rules).
 * - `default`: Docker as installed: 172.17.0.1/16 on every host, masquerade, nothing added.
 */
export type DockerTopology = 'routed' | 'default';

export interface LabEndpointSpec {
  name: string;
  host: string;
  /** Ports with a listener: TCP accepts and closes, UDP echoes. */
  listen?: { tcp?: number[]; udp?: number[] };
}

export interface LabSpec {
  hosts: LabHostSpec[];
  endpoints: LabEndpointSpec[];
  /** Give endpoints IPv6 addresses too. @default true */
  ipv6?: boolean;
  /**
   * Hosts share this machine's state folder (/var/lib/pulumi-netpolicy), as containers of one
   * machine share a disk, instead of a private mount each. The project must keep their state apart.
   * @default false
   */
  sharedFilesystem?: boolean;
  /** Containers on Docker lab hosts. */
  containers?: LabContainerSpec[];
  /** @default "routed" */
  dockerTopology?: DockerTopology;
}

export interface LabHost {
  name: string;
  index: number;
  netns: string;
  /** Endpoints hang off bridge br0 (see LabHostSpec.bridged). */
  bridged: boolean;
  /** The host's address on its management link (sshd listens here). */
  address: string;
  transitV4: string;
  transitV6: string;
}

export interface LabContainer {
  name: string;
  host: string;
  /** Full container id. */
  id: string;
  /** Its init process: the lab enters its network namespace by this pid. */
  pid: number;
  ipv4: string;
  ipv6?: string;
  labels: Record<string, string>;
  /** performance.now() when its `docker run` (or the restart's `docker start`) returned. */
  startedAt: number;
}

export interface LabEndpoint {
  name: string;
  host: string;
  netns: string;
  ipv4: string;
  ipv6?: string;
}

/** What an SSH client needs to reach a lab host. */
export interface LabSshInfo {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** `SHA256:...` fingerprint of the host key. */
  hostKey: string;
  /** The host key as an OpenSSH public key line (`ssh-ed25519 AAAA...`). */
  hostKeyLine: string;
}

/** Non-root login on every lab host: password auth and password-less `sudo` work for it. */
export interface LabLoginUser {
  user: string;
  password: string;
  privateKey: string;
}

/** `tcp/80`, `udp/53`, `icmp/8` (echo request). */
export type ProbeSpec = string;
export type Matrix = Record<ProbeSpec, Record<string, Record<string, boolean>>>;

export interface ProbeOptions {
  /** Probe the IPv6 address instead of the IPv4 one. @default 4 */
  family?: 4 | 6;
  /** Seconds to wait for an answer. @default 1 */
  timeoutSec?: number;
}

interface HostState extends LabHost {
  anchorPid: number;
  sshdPid?: number;
  dir: string;
  hostKey: KeyPair;
  docker?: DockerdRecord;
  /** How its dockerd was started, to start it again the same way. */
  dockerOptions?: DockerdOptions;
}

const PREREQUISITES = ['ip', 'nft', 'sshd', 'iptables', 'ipset', 'ssh-keygen', 'nsenter', 'openssl', 'python3'];

/** Throws, naming what is missing, unless this process can build a lab (root and the tools). */
export async function requireLabPrerequisites(): Promise<void> {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root (run the tests as root)');
  const searchPath = (process.env.PATH ?? '') + ':/usr/sbin:/sbin:/usr/bin';
  for (const tool of PREREQUISITES) {
    const found = searchPath.split(':').some((dir) => dir && fs.existsSync(path.join(dir, tool)));
    if (!found) missing.push(tool);
  }
  if (!fs.existsSync(PYTHON)) missing.push(PYTHON);
  if (missing.length > 0) {
    throw new Error(
      `The namespace lab cannot run here; missing: ${missing.join(', ')}. ` +
        'Install them (Debian: apt-get install iproute2 nftables openssh-server iptables ipset util-linux openssl python3 sudo) and run as root.',
    );
  }
}

/** Throws, naming what is missing, unless this process can build a lab with Docker hosts. */
export async function requireDockerLabPrerequisites(): Promise<void> {
  await requireLabPrerequisites();
  const missing = missingDockerTools();
  if (missing.length > 0) {
    throw new Error(
      `Docker lab hosts cannot run here; missing: ${missing.join(', ')}. Install them (Debian: apt-get install ${DOCKER_PACKAGES}) and run as root.`,
    );
  }
}

function parseProbe(probe: ProbeSpec): { proto: 'tcp' | 'udp' | 'icmp'; port: number } {
  const m = /^(tcp|udp|icmp)\/(\d{1,5})$/.exec(probe);
  if (!m) throw new Error(`lab: bad probe "${probe}", expected tcp/N, udp/N or icmp/8`);
  return { proto: m[1] as 'tcp' | 'udp' | 'icmp', port: Number(m[2]) };
}

export class Lab {
  readonly id: string;
  readonly dir: string;
  readonly loginUser: LabLoginUser;
  readonly clientKey: KeyPair;
  private readonly hostStates = new Map<string, HostState>();
  private readonly endpointStates = new Map<string, LabEndpoint>();
  private readonly containerStates = new Map<string, LabContainer & { listen: { tcp?: number[]; udp?: number[] } }>();
  /** Milliseconds from spawning each dockerd to its API answering, by host. */
  readonly dockerdStartMs: Record<string, number> = {};
  private readonly record: LabRecord;
  private destroyed = false;

  private constructor(id: string, dir: string, clientKey: KeyPair, password: string) {
    this.id = id;
    this.dir = dir;
    this.clientKey = clientKey;
    this.loginUser = { user: LOGIN_USER, password, privateKey: clientKey.privateKey };
    this.record = { id, ownerPid: process.pid, netns: [], rootLinks: [], tmpDir: dir };
  }

  /** Builds the lab. On any failure everything made so far is removed before the error is thrown. */
  static async create(spec: LabSpec): Promise<Lab> {
    if (spec.hosts.some((h) => h.docker)) await requireDockerLabPrerequisites();
    else await requireLabPrerequisites();
    validateSpec(spec);
    await sweepStaleLabs();
    A.assertInnerRangesFree(await A.rootPrefixes());
    const id = crypto.randomBytes(4).toString('hex').slice(0, 6);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-lab-'));
    fs.chmodSync(dir, 0o755);
    const clientKey = await generateKey(path.join(dir, 'client_ed25519'));
    const lab = new Lab(id, dir, clientKey, crypto.randomBytes(9).toString('base64url'));
    try {
      await lab.build(spec);
      return lab;
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  private async build(spec: LabSpec): Promise<void> {
    const ipv6 = spec.ipv6 ?? true;
    const p = `np${this.id}`;
    writeRecord(this.record);
    await writeLoginFiles(this.dir, [this.clientKey], this.loginUser.password);

    const switchNs = `${p}sw`;
    const hostNs = spec.hosts.map((_, i) => `${p}h${i}`);
    const endpointNs = spec.endpoints.map((_, i) => `${p}e${i}`);
    for (const ns of [switchNs, ...hostNs, ...endpointNs]) {
      this.record.netns.push(ns);
      writeRecord(this.record);
      await run(['ip', 'netns', 'add', ns]);
    }
    // No duplicate address detection: addresses are unique by construction, and tentative
    // addresses would make the first probes after creation fail.
    await mapLimit([switchNs, ...hostNs, ...endpointNs], 4, (ns) =>
      run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']),
    );

    // Management links: the only lab addresses in the root namespace, chosen under a lock.
    const block = await withLabLock(async () => {
      const chosen = A.pickMgmtBlock(await A.rootPrefixes());
      const batch: string[] = [];
      spec.hosts.forEach((_, i) => {
        const link = `${p}m${i}`;
        this.record.rootLinks.push(link);
        batch.push(`link add ${link} type veth peer name mgmt netns ${hostNs[i]}`);
        batch.push(`addr add ${A.mgmtRootV4(chosen, i)}/30 dev ${link}`);
        batch.push(`link set ${link} up`);
      });
      writeRecord(this.record);
      await run(['ip', '-batch', '-'], { stdin: batch.join('\n') + '\n' });
      return chosen;
    });

    const switchBatch = ['link set lo up', 'link add br0 type bridge mcast_snooping 0', 'link set br0 up'];
    spec.hosts.forEach((_, i) => {
      switchBatch.push(`link add p${i} type veth peer name transit netns ${hostNs[i]}`);
      switchBatch.push(`link set p${i} master br0`, `link set p${i} up`);
    });
    await run(['ip', '-n', switchNs, '-batch', '-'], { stdin: switchBatch.join('\n') + '\n' });

    await mapLimit(spec.hosts, 4, async (h, i) => {
      const ns = hostNs[i];
      const batch = ['link set lo up', `addr add ${A.mgmtHostV4(block, i)}/30 dev mgmt`, 'link set mgmt up'];
      // Fixed MACs and permanent neighbours on the transit link: no first-packet loss while
      // neighbour discovery is still settling right after creation.
      batch.push(`link set transit address ${A.transitMac(i)}`);
      batch.push(`addr add ${A.transitV4(i)}/24 dev transit`, `addr add ${A.transitV6(i)}/64 dev transit nodad`, 'link set transit up');
      spec.hosts.forEach((_, g) => {
        if (g === i) return;
        batch.push(`neigh replace ${A.transitV4(g)} lladdr ${A.transitMac(g)} dev transit nud permanent`);
        batch.push(`neigh replace ${A.transitV6(g)} lladdr ${A.transitMac(g)} dev transit nud permanent`);
        batch.push(`route add ${A.endpointPrefixV4(g)} via ${A.transitV4(g)}`);
        batch.push(`route add ${A.endpointPrefixV6(g)} via ${A.transitV6(g)}`);
        batch.push(`route add ${A.mgmtPrefixV4(block, g)} via ${A.transitV4(g)}`);
      });
      const bridged = h.bridged ?? false;
      if (bridged) {
        batch.push('link add br0 type bridge mcast_snooping 0', `addr add ${A.gatewayV4(i)}/24 dev br0`);
        if (ipv6) batch.push(`addr add ${A.gatewayV6(i)}/64 dev br0 nodad`);
        batch.push('link set br0 up');
      }
      let k = 0;
      spec.endpoints.forEach((e, j) => {
        if (e.host !== h.name) return;
        const v = `v${k}`;
        batch.push(`link add ${v} type veth peer name eth0 netns ${endpointNs[j]}`);
        if (bridged) {
          batch.push(`link set ${v} master br0`, `link set ${v} up`);
        } else {
          batch.push(`addr add ${A.gatewayV4(i)}/32 dev ${v}`, `addr add fe80::1/64 dev ${v} nodad`, `link set ${v} up`);
          batch.push(`route add ${A.endpointV4(i, k)}/32 dev ${v}`);
          if (ipv6) batch.push(`route add ${A.endpointV6(i, k)}/128 dev ${v}`);
        }
        this.endpointStates.set(e.name, {
          name: e.name,
          host: h.name,
          netns: endpointNs[j],
          ipv4: A.endpointV4(i, k),
          ipv6: ipv6 ? A.endpointV6(i, k) : undefined,
        });
        k++;
      });
      await run(['ip', '-n', ns, '-batch', '-'], { stdin: batch.join('\n') + '\n' });
      await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      const dir = path.join(this.dir, `host${i}`);
      fs.mkdirSync(path.join(dir, 'state'), { recursive: true, mode: 0o700 });
      const hostKey = await generateKey(path.join(dir, 'ssh_host_ed25519_key'));
      const dockerSocket = h.docker ? path.join(dir, 'docker', 'docker.sock') : undefined;
      const anchorPid = await startAnchor(ns, this.dir, spec.sharedFilesystem ? undefined : path.join(dir, 'state'), path.join(dir, 'anchor.log'), dockerSocket);
      const state: HostState = {
        name: h.name,
        index: i,
        netns: ns,
        bridged,
        address: A.mgmtHostV4(block, i),
        transitV4: A.transitV4(i),
        transitV6: A.transitV6(i),
        anchorPid,
        dir,
        hostKey,
      };
      writeSshdConfig(path.join(dir, 'sshd_config'), { listen: state.address, hostKeyPath: hostKey.privateKeyPath, loginDir: this.dir });
      this.hostStates.set(h.name, state);
      await this.startSshd(h.name);
      if (h.docker) await this.startDocker(state, spec.dockerTopology ?? 'routed', ipv6);
    });

    await mapLimit(spec.endpoints, 4, async (e) => {
      const ep = this.endpoint(e.name);
      const { index: hostIndex, bridged } = this.hostState(e.host);
      const batch = ['link set lo up'];
      if (bridged) {
        batch.push(`addr add ${ep.ipv4}/24 dev eth0`, 'link set eth0 up', `route add default via ${A.gatewayV4(hostIndex)} dev eth0`);
        if (ep.ipv6) batch.push(`addr add ${ep.ipv6}/64 dev eth0 nodad`, `route add ::/0 via ${A.gatewayV6(hostIndex)} dev eth0`);
      } else {
        batch.push(`addr add ${ep.ipv4}/32 dev eth0`, 'link set eth0 up');
        batch.push(`route add ${A.gatewayV4(hostIndex)} dev eth0`, `route add default via ${A.gatewayV4(hostIndex)} dev eth0`);
        if (ep.ipv6) batch.push(`addr add ${ep.ipv6}/128 dev eth0 nodad`, 'route add ::/0 via fe80::1 dev eth0');
      }
      await run(['ip', '-n', ep.netns, '-batch', '-'], { stdin: batch.join('\n') + '\n' });
      await this.startListener(e.name, e.listen ?? {});
    });

    const containers = spec.containers ?? [];
    if (containers.length > 0) {
      const tar = await buildImageTar(this.dir);
      await mapLimit([...new Set(containers.map((c) => c.host))], 4, (host) => this.docker(host, ['import', tar, LAB_IMAGE], { timeoutMs: 120_000 }));
      await mapLimit(containers, 4, (c) => this.startContainer(c));
    }
  }

  /** Starts the host's dockerd, and in the routed topology lets routed traffic reach docker0. */
  private async startDocker(state: HostState, topology: DockerTopology, ipv6: boolean): Promise<void> {
    const i = state.index;
    state.dockerOptions = {
      netns: state.netns,
      dir: state.dir,
      cgroupParent: `/netpol-lab-${this.id}-h${i}`,
      ...(topology === 'routed'
        ? { bridge: { bip: `${A.gatewayV4(i)}/24`, ipMasq: false, ...(ipv6 ? { fixedCidrV6: A.endpointPrefixV6(i) } : {}) } }
        : {}),
    };
    const { startMs, ...record } = await startDockerd(state.dockerOptions);
    state.docker = record;
    this.record.dockerds = [...(this.record.dockerds ?? []), record];
    writeRecord(this.record);
    this.dockerdStartMs[state.name] = startMs;
    if (topology === 'routed') {
      await this.exec(state.name, ['iptables', '-I', 'DOCKER-USER', '-i', 'transit', '-o', 'docker0', '-j', 'ACCEPT']);
    }
  }

  private async startContainer(spec: LabContainerSpec): Promise<void> {
    const labelArgs = Object.entries(spec.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const publishArgs = (spec.publish ?? []).flatMap((p) => ['-p', p]);
    // --stop-timeout 0: its sleep, pid 1 of the container, ignores SIGTERM, so a stopping dockerd
    // (restartDockerd) would wait Docker's default 10 s for each container before killing it.
    await this.docker(spec.host, ['run', '-d', '--name', spec.name, '--network', 'bridge', '--stop-timeout', '0', ...labelArgs, ...publishArgs, LAB_IMAGE, '/bin/sleep', '2147483647']);
    await this.refreshContainer(spec.name, spec.host, spec.listen ?? {}, performance.now());
  }

  /** Reads a container's pid and addresses after a start, and starts its listeners. */
  private async refreshContainer(name: string, host: string, listen: { tcp?: number[]; udp?: number[] }, startedAt: number): Promise<void> {
    const socket = this.dockerSocket(host);
    const info = await inspectContainer(socket, name);
    if (!info.State.Running || info.State.Pid <= 0) throw new Error(`lab: container ${name} on ${host} is not running`);
    this.record.pids = [...(this.record.pids ?? []), info.State.Pid];
    writeRecord(this.record);
    const net = info.NetworkSettings.Networks.bridge;
    if (!net?.IPAddress) throw new Error(`lab: container ${name} on ${host} has no address on the bridge network`);
    const labels = info.Config.Labels ?? {};
    this.containerStates.set(name, {
      name,
      host,
      id: info.Id,
      pid: info.State.Pid,
      ipv4: net.IPAddress,
      ...(net.GlobalIPv6Address ? { ipv6: net.GlobalIPv6Address } : {}),
      labels,
      listen,
      startedAt,
    });
    await this.startListener(name, listen);
  }

  private dockerSocket(host: string): string {
    const d = this.hostState(host).docker;
    if (!d) throw new Error(`lab: host "${host}" does not run Docker`);
    return d.socket;
  }

  /** Runs the Debian docker client against the host's daemon (from the machine, not over SSH). */
  docker(host: string, args: readonly string[], options: { stdin?: string; check?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return docker(this.dockerSocket(host), args, options);
  }

  /** The dockerd process of a Docker lab host. */
  dockerdPid(host: string): number {
    const d = this.hostState(host).docker;
    if (!d) throw new Error(`lab: host "${host}" does not run Docker`);
    return d.pid;
  }

  /** Starts one more container on a Docker host while the lab runs (as `docker run -d` does). */
  async runContainer(spec: LabContainerSpec): Promise<LabContainer> {
    if (this.containerStates.has(spec.name) || this.endpointStates.has(spec.name)) throw new Error(`lab: duplicate endpoint or container "${spec.name}"`);
    await this.startContainer(spec);
    return this.container(spec.name);
  }

  /** Removes a container (`docker rm -f`); it is no longer measured. Its listener goes at teardown. */
  async removeContainer(name: string): Promise<void> {
    const c = this.container(name);
    await this.docker(c.host, ['rm', '-f', name]);
    this.containerStates.delete(name);
  }

  /**
   * Restarts a container. `newAddress`: while it is stopped, a placeholder container takes its
   * address, so it comes back with another one (as a restart on a busy host does).
   */
  async restartContainer(name: string, options: { newAddress?: boolean } = {}): Promise<LabContainer> {
    const c = this.container(name);
    await this.docker(c.host, ['stop', '-t', '0', name]);
    // Placeholders take free addresses, lowest first, until one holds the container's old one.
    const holds: string[] = [];
    while (options.newAddress) {
      const hold = `${name}-hold${holds.length}`;
      await this.docker(c.host, ['run', '-d', '--name', hold, '--network', 'bridge', LAB_IMAGE, '/bin/sleep', '2147483647']);
      holds.push(hold);
      if ((await inspectContainer(this.dockerSocket(c.host), hold)).NetworkSettings.Networks.bridge?.IPAddress === c.ipv4) break;
      if (holds.length >= 16) throw new Error(`lab: no placeholder took ${c.ipv4} of ${name} on ${c.host}`);
    }
    await this.docker(c.host, ['start', name]);
    const startedAt = performance.now();
    if (holds.length > 0) await this.docker(c.host, ['rm', '-f', ...holds]);
    await this.refreshContainer(name, c.host, this.containerStates.get(name)?.listen ?? {}, startedAt);
    return this.container(name);
  }

  /**
   * Restarts a Docker host's dockerd: stopped by its pid (it stops its containers), started again
   * with the same settings (it sets up its iptables rules again), then its containers are started
   * in the order of their old addresses, so each gets its address back (Docker hands out the
   * lowest free one): what changes is Docker's rules, not the endpoints.
   */
  async restartDockerd(host: string): Promise<void> {
    const state = this.hostState(host);
    const old = state.docker;
    if (!old || !state.dockerOptions) throw new Error(`lab: host "${host}" does not run Docker`);
    await stopProcess(old.pid, 30_000);
    const { startMs: _startMs, ...record } = await startDockerd(state.dockerOptions);
    state.docker = record;
    this.record.dockerds = [...(this.record.dockerds ?? []).filter((d) => d.pid !== old.pid), record];
    writeRecord(this.record);
    const rank = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
    for (const c of [...this.containerStates.values()].filter((x) => x.host === host).sort((a, b) => rank(a.ipv4) - rank(b.ipv4))) {
      await this.docker(host, ['start', c.name]);
      await this.refreshContainer(c.name, host, c.listen, performance.now());
    }
  }

  get containers(): LabContainer[] {
    return [...this.containerStates.values()].map(({ listen: _listen, ...c }) => c);
  }

  container(name: string): LabContainer {
    const c = this.containerStates.get(name);
    if (!c) throw new Error(`lab: no container "${name}"`);
    const { listen: _listen, ...rest } = c;
    return rest;
  }

  /** argv prefix that runs a program in an endpoint's or a container's network namespace. */
  private enter(name: string): string[] {
    const c = this.containerStates.get(name);
    if (c) return ['nsenter', '-n', '-t', String(c.pid), '--'];
    return ['ip', 'netns', 'exec', this.endpoint(name).netns];
  }

  /** Addresses of an endpoint or container. */
  private addressesOf(name: string): { ipv4: string; ipv6?: string } {
    return this.containerStates.get(name) ?? this.endpoint(name);
  }

  private async startListener(name: string, listen: { tcp?: number[]; udp?: number[] }): Promise<void> {
    const tcp = (listen.tcp ?? []).join(',');
    const udp = (listen.udp ?? []).join(',');
    if (!tcp && !udp) return;
    const argv = [...this.enter(name), PYTHON, AGENT, 'serve', '--tcp', tcp, '--udp', udp];
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lab: listener in ${name} not ready in 10 s: ${stderr}`)), 10_000);
      child.stdout?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`lab: listener in ${name} exited with ${code}: ${stderr}`));
      });
    });
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.unref();
    if (this.containerStates.has(name) && child.pid !== undefined) {
      this.record.pids = [...(this.record.pids ?? []), child.pid];
      writeRecord(this.record);
    }
  }

  get hosts(): LabHost[] {
    return [...this.hostStates.values()].map(({ name, index, netns, bridged, address, transitV4, transitV6 }) => ({
      name,
      index,
      netns,
      bridged,
      address,
      transitV4,
      transitV6,
    }));
  }

  get endpoints(): LabEndpoint[] {
    return [...this.endpointStates.values()];
  }

  host(name: string): LabHost {
    const { index, netns, bridged, address, transitV4, transitV6 } = this.hostState(name);
    return { name, index, netns, bridged, address, transitV4, transitV6 };
  }

  endpoint(name: string): LabEndpoint {
    const ep = this.endpointStates.get(name);
    if (!ep) throw new Error(`lab: no endpoint "${name}"`);
    return ep;
  }

  private hostState(name: string): HostState {
    const h = this.hostStates.get(name);
    if (!h) throw new Error(`lab: no host "${name}"`);
    return h;
  }

  /** SSH connection info for root on a host (key auth, pinned host key). */
  hostSsh(name: string): LabSshInfo {
    const h = this.hostState(name);
    return {
      host: h.address,
      port: 22,
      user: 'root',
      privateKey: this.clientKey.privateKey,
      hostKey: h.hostKey.fingerprint,
      hostKeyLine: h.hostKey.publicKeyLine,
    };
  }

  /** A known_hosts file listing the given hosts (all by default), plain entries. */
  writeKnownHosts(file: string, names: string[] = [...this.hostStates.keys()]): string {
    const lines = names.map((n) => `${this.hostState(n).address} ${this.hostState(n).hostKey.publicKeyLine}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  /** Runs argv (no shell) inside the host's network and mount namespaces. Throws on non-zero exit unless check is false. */
  exec(host: string, argv: readonly string[], options: { stdin?: string; check?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(inHost(this.hostState(host).anchorPid, argv), options);
  }

  /** Runs argv (no shell) inside an endpoint's network namespace. */
  execEndpoint(endpoint: string, argv: readonly string[], options: { stdin?: string; check?: boolean } = {}): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.endpoint(endpoint).netns, ...argv], options);
  }

  /** The pid of the host's sshd listener (its children serve one connection each). */
  sshdPid(host: string): number {
    const pid = this.hostState(host).sshdPid;
    if (pid === undefined) throw new Error(`lab: sshd of "${host}" is not running`);
    return pid;
  }

  async stopSshd(host: string): Promise<void> {
    const h = this.hostState(host);
    if (h.sshdPid !== undefined) await stopProcess(h.sshdPid);
    h.sshdPid = undefined;
    const deadline = Date.now() + 5000;
    while ((await sshBanner(h.address, 200)) && Date.now() < deadline) await sleep(25);
  }

  async startSshd(host: string): Promise<void> {
    const h = this.hostState(host);
    if (h.sshdPid !== undefined && isAlive(h.sshdPid)) return;
    h.sshdPid = await startSshd(h.anchorPid, path.join(h.dir, 'sshd_config'), path.join(h.dir, 'sshd.log'), h.address);
  }

  /** One real connection attempt from an endpoint namespace to another endpoint's address. */
  async probe(from: string, to: string, probe: ProbeSpec, options: ProbeOptions = {}): Promise<boolean> {
    const results = await this.probeFrom(from, [{ id: 'p', to, probe }], options);
    return results.p;
  }

  /** One real connection attempt from an endpoint or container to an address (a host's, for a published port). */
  async probeAddress(from: string, addr: string, probe: ProbeSpec, options: Omit<ProbeOptions, 'family'> = {}): Promise<boolean> {
    const { proto, port } = parseProbe(probe);
    const results = await this.probeWire(from, [{ id: 'p', proto, addr, port }], options);
    return results.p;
  }

  /**
   * Measures every probe for every ordered pair of endpoints (self counts as reachable and is not
   * probed). One prober process per source endpoint, at most `concurrency` at a time.
   */
  async measureMatrix(probes: ProbeSpec[], options: ProbeOptions & { concurrency?: number } = {}): Promise<Matrix> {
    probes.forEach(parseProbe);
    const names = [...this.endpointStates.keys(), ...this.containerStates.keys()];
    const matrix: Matrix = {};
    for (const probe of probes) {
      matrix[probe] = {};
      for (const from of names) matrix[probe][from] = Object.fromEntries(names.map((to) => [to, from === to]));
    }
    await mapLimit(names, options.concurrency ?? 4, async (from) => {
      const requests = probes.flatMap((probe) =>
        names.filter((to) => to !== from).map((to, i) => ({ id: `${probe}|${i}|${to}`, to, probe })),
      );
      const results = await this.probeFrom(from, requests, options);
      for (const r of requests) matrix[r.probe][from][r.to] = results[r.id];
    });
    return matrix;
  }

  private async probeFrom(from: string, requests: Array<{ id: string; to: string; probe: ProbeSpec }>, options: ProbeOptions): Promise<Record<string, boolean>> {
    const wire = requests.map((r) => {
      const { proto, port } = parseProbe(r.probe);
      const target = this.addressesOf(r.to);
      const addr = options.family === 6 ? target.ipv6 : target.ipv4;
      if (!addr) throw new Error(`lab: endpoint ${r.to} has no IPv${options.family ?? 4} address`);
      return { id: r.id, proto, addr, port };
    });
    return this.probeWire(from, wire, options);
  }

  private async probeWire(from: string, wire: Array<{ id: string; proto: string; addr: string; port: number }>, options: ProbeOptions): Promise<Record<string, boolean>> {
    if (wire.length === 0) return {};
    const timeout = String(options.timeoutSec ?? 1);
    const result = await run([...this.enter(from), PYTHON, AGENT, 'probe', '--timeout', timeout], {
      stdin: JSON.stringify(wire),
      timeoutMs: 30_000,
    });
    return JSON.parse(result.stdout) as Record<string, boolean>;
  }

  /** Removes every process, namespace, link and file the lab made. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await teardownRecord(this.record);
  }
}

function validateSpec(spec: LabSpec): void {
  const hostNames = new Set<string>();
  if (spec.hosts.length === 0 || spec.hosts.length > A.MAX_HOSTS) throw new Error(`lab: 1 to ${A.MAX_HOSTS} hosts`);
  for (const h of spec.hosts) {
    if (hostNames.has(h.name)) throw new Error(`lab: duplicate host "${h.name}"`);
    if (h.docker && h.bridged) throw new Error(`lab: host "${h.name}": docker and bridged exclude each other (Docker brings its own bridge)`);
    hostNames.add(h.name);
  }
  const endpointNames = new Set<string>();
  const perHost = new Map<string, number>();
  for (const e of spec.endpoints) {
    if (endpointNames.has(e.name)) throw new Error(`lab: duplicate endpoint "${e.name}"`);
    endpointNames.add(e.name);
    if (!hostNames.has(e.host)) throw new Error(`lab: endpoint "${e.name}" names unknown host "${e.host}"`);
    if (spec.hosts.some((h) => h.name === e.host && h.docker)) throw new Error(`lab: endpoint "${e.name}": host "${e.host}" runs Docker; give it containers instead`);
    perHost.set(e.host, (perHost.get(e.host) ?? 0) + 1);
    if ((perHost.get(e.host) ?? 0) > A.MAX_ENDPOINTS_PER_HOST) throw new Error(`lab: too many endpoints on ${e.host}`);
    for (const port of [...(e.listen?.tcp ?? []), ...(e.listen?.udp ?? [])]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`lab: endpoint "${e.name}" cannot listen on port ${port}`);
      }
    }
  }
  for (const c of spec.containers ?? []) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{1,62}$/.test(c.name)) throw new Error(`lab: container name "${c.name}" is not a Docker container name`);
    for (const p of c.publish ?? []) if (!/^\d{1,5}:\d{1,5}$/.test(p)) throw new Error(`lab: container "${c.name}": publish "${p}" is not HOSTPORT:CONTAINERPORT`);
    if (endpointNames.has(c.name)) throw new Error(`lab: duplicate endpoint or container "${c.name}"`);
    endpointNames.add(c.name);
    if (!spec.hosts.some((h) => h.name === c.host && h.docker)) throw new Error(`lab: container "${c.name}": host "${c.host}" is not a Docker host (docker: true)`);
  }
}
