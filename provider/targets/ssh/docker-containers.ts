/**
 * Reads a Docker host's running containers over its SSH session: one fixed command (no model
 * text in it) runs `docker ps -q --no-trunc` and `docker inspect` of those ids; the JSON is
 * checked with zod here, at the edge. Whatever `docker` the host has on its PATH is used: the
 * client negotiates the API version with the daemon, so a newer client on an older daemon works.
 */
import { z } from 'zod';
import { HostError } from './host-error';
import { SshSession } from './session';

/** A running container as discovery sees it. */
export interface DockerContainer {
  /** Full container id (64 hex digits). */
  id: string;
  /** Docker's name, without the leading "/". */
  name: string;
  /** Addresses per network, networks sorted by name. */
  networks: Array<{ network: string; ipv4?: string; ipv6?: string }>;
  labels: Record<string, string>;
  /** Published ports: container port/protocol → host address:port. */
  published: Array<{ containerPort: number; protocol: string; hostIp: string; hostPort: number }>;
}

const Inspected = z.array(
  z.object({
    Id: z.string().regex(/^[0-9a-f]{64}$/),
    Name: z.string(),
    State: z.object({ Running: z.boolean() }).passthrough(),
    Config: z.object({ Labels: z.record(z.string()).nullable().optional() }).passthrough(),
    NetworkSettings: z
      .object({
        Networks: z
          .record(z.object({ IPAddress: z.string().optional(), GlobalIPv6Address: z.string().optional() }).passthrough())
          .nullable()
          .optional(),
        Ports: z.record(z.array(z.object({ HostIp: z.string(), HostPort: z.string() })).nullable()).nullable().optional(),
      })
      .passthrough(),
  }).passthrough(),
);

/**
 * The command: fails with exit 127 and a plain message when there is no docker client; prints
 * `[]` when nothing runs. A container that stops between the two calls makes inspect exit 1
 * with the others still printed (see readContainers).
 */
export const DOCKER_CONTAINERS_COMMAND = [
  'command -v docker >/dev/null 2>&1 || { echo "docker: command not found" >&2; exit 127; }',
  'ids=$(docker ps -q --no-trunc) || exit $?',
  'if [ -z "$ids" ]; then echo "[]"; else docker inspect --type container $ids; fi',
].join('\n');

const STEP = 'discover docker containers';

function failure(host: string, code: number, stderr: string): HostError {
  const first = stderr.trim().split('\n')[0] ?? '';
  if (code === 127) return new HostError({ host, step: STEP, cause: 'docker is not installed (no docker command on the PATH)', hint: 'Install Docker on the host, or remove discover: docker from it' });
  if (/permission denied/i.test(stderr)) {
    return new HostError({ host, step: STEP, cause: `no permission to use the Docker daemon: ${first}`, hint: 'Log in as root, set sudo: true, or add the user to the docker group' });
  }
  if (/Cannot connect to the Docker daemon|Is the docker daemon running/i.test(stderr)) {
    return new HostError({ host, step: STEP, cause: `the Docker daemon does not answer: ${first}`, hint: 'Start dockerd on the host' });
  }
  return new HostError({ host, step: STEP, cause: `docker exited with ${code}: ${first || '(no message)'}` });
}

/** Parses `docker inspect` output (an array of containers); only running ones are kept. */
export function parseInspect(host: string, text: string): DockerContainer[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HostError({ host, step: STEP, cause: 'docker inspect printed something that is not JSON' });
  }
  const parsed = Inspected.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HostError({ host, step: STEP, cause: `docker inspect output has an unexpected shape at ${issue.path.join('.')}: ${issue.message}` });
  }
  return parsed.data
    .filter((c) => c.State.Running)
    .map((c) => ({
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      networks: Object.entries(c.NetworkSettings.Networks ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([network, n]) => ({ network, ...(n.IPAddress ? { ipv4: n.IPAddress } : {}), ...(n.GlobalIPv6Address ? { ipv6: n.GlobalIPv6Address } : {}) })),
      labels: c.Config.Labels ?? {},
      published: Object.entries(c.NetworkSettings.Ports ?? {})
        .flatMap(([key, bindings]) => {
          const [port, protocol = 'tcp'] = key.split('/');
          return (bindings ?? []).map((b) => ({ containerPort: Number(port), protocol, hostIp: b.HostIp, hostPort: Number(b.HostPort) }));
        })
        .sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol) || a.hostIp.localeCompare(b.hostIp)),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The running containers of the host behind `session` (an SshSession; only its name and run are
 * used). Throws a HostError naming the host and cause.
 */
export async function readContainers(session: Pick<SshSession, 'name' | 'run'>): Promise<DockerContainer[]> {
  const r = await session.run(DOCKER_CONTAINERS_COMMAND, undefined, { step: STEP });
  // A container gone between ps and inspect: inspect exits 1 but prints the others.
  const vanished = r.code === 1 && /No such (object|container)/i.test(r.stderr) && r.stdout.trim().startsWith('[');
  if (r.code !== 0 && !vanished) throw failure(session.name, r.code, r.stderr);
  return parseInspect(session.name, r.stdout);
}
