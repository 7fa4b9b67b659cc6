/**
 * Follows a Docker host's events over its SSH session: one fixed command (no model text in it)
 * that checks the daemon answers, prints a ready line, then runs `docker events` for the container
 * and network events that change what discovery sees. `--since` the second the command started
 * (read on the host), so an event between the ready line and the subscription is not lost: the
 * caller reads the containers after the ready line, and every change after that read is an event.
 */
import { z } from 'zod';
import { HostError } from './host-error';
import type { SshSession } from './session';

const READY = 'netpol-docker-events-ready';
const STEP = 'follow docker events';

export const DOCKER_EVENTS_COMMAND = [
  'command -v docker >/dev/null 2>&1 || { echo "docker: command not found" >&2; exit 127; }',
  'since=$(date +%s) || exit 1',
  "docker version --format '{{.Server.Version}}' >/dev/null || exit $?",
  `echo ${READY}`,
  "exec docker events --since \"$since\" --format '{{json .}}' --filter type=container --filter type=network" +
    ' --filter event=start --filter event=stop --filter event=die --filter event=destroy --filter event=rename' +
    ' --filter event=connect --filter event=disconnect',
].join('\n');

/** One event, as much of it as the messages use. */
export interface DockerEvent {
  type: string;
  action: string;
  /** The container's name (container events) or the network's (network events). */
  name?: string;
}

const EventLine = z.object({
  Type: z.string(),
  Action: z.string(),
  Actor: z.object({ Attributes: z.record(z.string()).nullable().optional() }).passthrough().optional(),
}).passthrough();

/** One line of `docker events --format '{{json .}}'`; undefined for a line that is not an event. */
export function parseEvent(line: string): DockerEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  const e = EventLine.safeParse(json);
  if (!e.success) return undefined;
  const name = e.data.Actor?.Attributes?.name;
  return { type: e.data.Type, action: e.data.Action, ...(name !== undefined ? { name } : {}) };
}

/** A running event stream: `ended` resolves with why it ended (the host's message, or the drop). */
export interface DockerEventStream {
  ended: Promise<string>;
  stop(): void;
}

/**
 * Starts following the host's events; resolves once the subscription is live. Throws a HostError
 * when the host has no docker or the daemon does not answer (the stream could not start).
 */
export async function followDockerEvents(session: Pick<SshSession, 'name' | 'follow'>, onEvent: (e: DockerEvent) => void): Promise<DockerEventStream> {
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => (ready = r));
  const handle = await session.follow(DOCKER_EVENTS_COMMAND, (line) => {
    if (line === READY) return ready();
    const e = parseEvent(line);
    if (e) onEvent(e);
  }, { step: STEP });
  const ended = handle.ended.then((r) => {
    const first = r.stderr.trim().split('\n')[0] ?? '';
    if (r.code === 127) return 'docker is not installed (no docker command on the PATH)';
    if (r.code === -1) return first !== '' ? first : 'the SSH connection dropped';
    return `docker events exited with ${r.code}${first !== '' ? `: ${first}` : ''}`;
  });
  const outcome = await Promise.race([isReady.then(() => undefined), ended]);
  if (outcome !== undefined) {
    handle.stop();
    throw new HostError({ host: session.name, step: STEP, cause: outcome, hint: 'Check that dockerd runs on the host and the user may use it' });
  }
  return { ended, stop: handle.stop };
}
