/** `netpol discover`: the model with the endpoints its Docker hosts have now, as YAML. */
import { stringify } from "yaml";
import { Command } from "../command";
import { EXIT } from "../io";
import { loadLiveModel } from "../load";

export const discoverCommand: Command = {
  name: "discover",
  summary: "print the model with the endpoints read from its Docker hosts (YAML)",
  help: `Usage: netpol discover FILE

For every host with discover: docker, reads its running containers over its SSH session
("docker ps" and "docker inspect"; nothing is written) and prints the model with them as
endpoints, after the ones written in FILE. The printed model is a snapshot: its hosts no longer
say discover: docker, so it can be reviewed, committed and used as it is.

A container becomes an endpoint named after the container, on its host, with its addresses on
every network (IPv4 and IPv6); stack and service from Docker Compose's
com.docker.compose.project / com.docker.compose.service or Rancher 1.x's io.rancher.stack.name /
io.rancher.stack_service.name; its labels as they are (those that are not valid label keys or
values are left out); namespace from the label netpol.namespace; Calico profiles from the label
netpol.profiles (comma separated, in order). Containers without an address (network mode host or
none) are left out. What was left out, and each container's published ports, go to stderr.

plan, apply, reach, explain and render discover the same way, live, every time they run.
A name or address used twice (written and discovered, or on two hosts) is an error naming both.
A host that cannot be read (unreachable, no docker, no permission) fails the command with
exit 1, naming the host and the cause.`,
  options: {},
  positional: 1,
  async run(args, io) {
    const file = args.positional[0];
    const { model, hosts } = await loadLiveModel(file, io);
    const snapshot = { ...model, hosts: (model.hosts ?? []).map(({ discover: _discover, ...h }) => h) };
    io.out(stringify(snapshot));
    for (const h of hosts) {
      io.err(`host ${h.host}: ${h.endpoints.length} endpoint(s) from ${h.containers.length} running container(s)`);
      for (const c of h.containers) {
        for (const p of c.published) io.err(`  ${c.name}: published ${p.hostIp}:${p.hostPort} → ${p.containerPort}/${p.protocol}`);
      }
      for (const n of h.notes) io.err(`  ${n}`);
    }
    return EXIT.ok;
  },
};
