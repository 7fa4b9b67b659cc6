/**
 * Docker lab hosts: a real `dockerd` (Debian's docker.io 20.10) per lab host, inside the host's
 * network namespace, with everything of its own: data root, exec root, socket, pid file, cgroup
 * parent and bridge subnet. Containers run an image the lab builds itself from Debian's
 * busybox-static (`docker import` of a rootfs tar): no registry, no network.
 *
 * dockerd is started with `nsenter --net=/run/netns/NS` and not `ip netns exec`: the latter
 * remounts /sys, and dockerd then fails with "Devices cgroup isn't mounted". So dockerd lives in
 * the machine's mount namespace (its overlay and nsfs mounts are under the lab's folder, and
 * teardown unmounts them) and in the host's network namespace (its iptables rules, docker0 and
 * the containers' veths live there, and go with it).
 *
 * The lab drives its daemons with the Debian client, /usr/bin/docker, named by path: this machine
 * also has a newer client in /usr/local/bin, and while that one negotiates the API down to 1.41,
 * the lab should not depend on a client it does not install. The project's discovery runs whatever
 * `docker` a host has on its PATH (a real host's), and relies on that negotiation.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { isAlive, run, sleep, stopProcess } from './run';

export const DOCKERD = '/usr/sbin/dockerd';
export const DOCKER = '/usr/bin/docker';
export const BUSYBOX = '/bin/busybox';
/** The image every lab container runs; one per daemon, imported from the lab's own rootfs tar. */
export const LAB_IMAGE = 'netpol-lab/busybox:latest';
/** The Debian packages behind the tools above (for error messages and .ci/run). */
export const DOCKER_PACKAGES = 'docker.io busybox-static';

/** What teardown needs to stop one daemon and remove what it made; kept in the lab's registry record. */
export interface DockerdRecord {
  /** The dockerd process (nsenter execs it, so this is dockerd itself). */
  pid: number;
  socket: string;
  dataRoot: string;
  execRoot: string;
  /** cgroup parent of its containers (cgroupfs driver): `/netpol-lab-<id>-h<i>` in every controller. */
  cgroupParent: string;
}

export interface DockerdOptions {
  /** The host's network namespace (a name under /run/netns). */
  netns: string;
  /** The lab's folder for this host: data root, exec root, socket, logs go under `<dir>/docker`. */
  dir: string;
  cgroupParent: string;
  /**
   * Docker's default bridge: `--bip` (gateway/prefix) and `ip-masq`. Omitted: Docker's own default
   * (172.17.0.1/16, masquerade), as on a host nobody configured.
   */
  bridge?: { bip: string; fixedCidrV6?: string; ipMasq: boolean };
}

export interface DockerMissing {
  missing: string[];
}

/** The tools a Docker lab host needs that are not installed here (empty: all there). */
export function missingDockerTools(): string[] {
  return [DOCKERD, DOCKER, BUSYBOX, '/usr/bin/containerd', '/usr/sbin/runc'].filter((f) => !fs.existsSync(f) && !(f === '/usr/sbin/runc' && fs.existsSync('/usr/bin/runc')));
}

/** Runs the Debian docker client against one daemon. */
export function docker(socket: string, args: readonly string[], options: { stdin?: string; check?: boolean; timeoutMs?: number } = {}) {
  return run([DOCKER, '-H', `unix://${socket}`, ...args], { timeoutMs: 60_000, ...options });
}

/**
 * Builds the rootfs tar once per lab: /bin/busybox and a symlink per applet, /tmp, /etc/passwd.
 * Returns the tar's path.
 */
export async function buildImageTar(dir: string): Promise<string> {
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  for (const d of ['tmp', 'etc', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  const applets = (await run([BUSYBOX, '--list'])).stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  for (const a of applets) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  const tar = path.join(dir, 'rootfs.tar');
  await run(['tar', '-C', rootfs, '--numeric-owner', '-cf', tar, '.']);
  return tar;
}

/** Starts dockerd in the host's network namespace; resolves once its API answers. */
export async function startDockerd(options: DockerdOptions): Promise<DockerdRecord & { startMs: number }> {
  const base = path.join(options.dir, 'docker');
  const dataRoot = path.join(base, 'data');
  const execRoot = path.join(base, 'exec');
  const socket = path.join(base, 'docker.sock');
  fs.mkdirSync(dataRoot, { recursive: true, mode: 0o700 });
  fs.mkdirSync(execRoot, { recursive: true, mode: 0o700 });
  const config: Record<string, unknown> = {
    'data-root': dataRoot,
    'exec-root': execRoot,
    pidfile: path.join(base, 'docker.pid'),
    hosts: [`unix://${socket}`],
    'cgroup-parent': options.cgroupParent,
    iptables: true,
    'userland-proxy': false,
    'log-level': 'warn',
  };
  if (options.bridge) {
    config.bip = options.bridge.bip;
    config['ip-masq'] = options.bridge.ipMasq;
    if (options.bridge.fixedCidrV6) {
      config.ipv6 = true;
      config['fixed-cidr-v6'] = options.bridge.fixedCidrV6;
    }
  }
  // Its own config file: /etc/docker/daemon.json of this machine must not apply to a lab host.
  const configFile = path.join(base, 'daemon.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(base, 'dockerd.log');
  const log = fs.openSync(logFile, 'a');
  const started = Date.now();
  const child = spawn('nsenter', [`--net=/run/netns/${options.netns}`, DOCKERD, '--config-file', configFile], {
    stdio: ['ignore', log, log],
    detached: true,
    // Debian's containerd, runc and docker-init, not whatever else is first on this PATH.
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' },
  });
  fs.closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`lab: cannot start dockerd in ${options.netns}`);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const record: DockerdRecord = { pid, socket, dataRoot, execRoot, cgroupParent: options.cgroupParent };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`lab: dockerd in ${options.netns} exited with ${exited}; log: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (fs.existsSync(socket) && (await docker(socket, ['version', '--format', '{{.Server.Version}}'], { check: false, timeoutMs: 5000 })).code === 0) {
      return { ...record, startMs: Date.now() - started };
    }
    await sleep(50);
  }
  throw new Error(`lab: dockerd in ${options.netns} did not answer on ${socket} within 30 s; log: ${logFile}`);
}

/** The parts of `docker inspect` the lab reads. */
export interface InspectedContainer {
  Id: string;
  Name: string;
  State: { Pid: number; Running: boolean };
  Config: { Labels: Record<string, string> | null };
  NetworkSettings: { Networks: Record<string, { IPAddress: string; GlobalIPv6Address: string }> };
}

export async function inspectContainer(socket: string, name: string): Promise<InspectedContainer> {
  const out = (await docker(socket, ['inspect', '--type', 'container', name])).stdout;
  const list = JSON.parse(out) as InspectedContainer[];
  if (list.length !== 1) throw new Error(`lab: docker inspect ${name}: expected one container, got ${list.length}`);
  return list[0];
}

/** Unmounts everything mounted at or under one of `prefixes` (deepest first), in this mount namespace. */
async function unmountUnder(prefixes: readonly string[]): Promise<void> {
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const points = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && prefixes.some((pre) => p === pre || p.startsWith(pre + '/')))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await run(['umount', '-l', p], { check: false });
}

/** cgroup directories of a cgroup parent, deepest first, in every mounted controller. */
function cgroupDirs(parent: string): string[] {
  const root = '/sys/fs/cgroup';
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    dirs.push(dir);
  };
  let controllers: string[] = [];
  try {
    controllers = fs.readdirSync(root);
  } catch {
    return [];
  }
  for (const c of controllers) walk(path.join(root, c, parent.replace(/^\/+/, '')));
  return dirs;
}

/**
 * Stops one daemon and removes everything it made outside its network namespace: its containers
 * (killed), then dockerd by its pid, then its mounts and cgroups. Its iptables rules, bridge and
 * veths are in the host's network namespace and go when that is deleted. Idempotent; a daemon
 * already gone (a killed run) is fine: `extraPids` (the containers' processes) are killed anyway.
 */
export async function stopDockerd(record: DockerdRecord, extraPids: readonly number[] = []): Promise<void> {
  if (!record.cgroupParent.startsWith('/netpol-lab-')) throw new Error(`lab: refusing to clean cgroup parent ${record.cgroupParent}`);
  if (isAlive(record.pid) && fs.existsSync(record.socket)) {
    const ids = await docker(record.socket, ['ps', '-aq', '--no-trunc'], { check: false, timeoutMs: 10_000 });
    const list = ids.stdout.split('\n').filter(Boolean);
    if (ids.code === 0 && list.length > 0) await docker(record.socket, ['rm', '-f', ...list], { check: false, timeoutMs: 30_000 });
  }
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  await stopProcess(record.pid, 15_000);
  await unmountUnder([record.dataRoot, record.execRoot]);
  for (const dir of cgroupDirs(record.cgroupParent)) {
    for (let i = 0; i < 20; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
        await sleep(50);
      }
    }
  }
}
