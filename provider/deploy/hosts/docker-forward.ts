/**
 * Docker's FORWARD drop beside the network's allows (targets/ssh/forward-check.ts): on a host
 * where Docker manages the filter table (DOCKER-USER exists) with the FORWARD policy DROP and no
 * accept in DOCKER-USER, other hosts' endpoints reach this host's endpoints only on the ports
 * Docker publishes, whatever the network allows. The network's rules cannot override that drop
 * (nor should they rewrite Docker's chains), so the host gets a warning naming the fix. Pure.
 */
import type { ForwardReport } from "../../targets/ssh/forward-check";
import type { MasqueradeScope } from "./masquerade";

/** One warning for a Docker host whose own rules drop routed traffic to its endpoints; none otherwise. */
export function dockerForwardWarnings(host: string, forward: ForwardReport | undefined, scope: MasqueradeScope | undefined): string[] {
  if (!forward || !scope || forward.policy !== "DROP" || !forward.dockerUser || forward.userAccepts.length > 0) return [];
  if (scope.local.length === 0 || scope.remote.length === 0) return [];
  return [
    `${host}: Docker's FORWARD policy is DROP and DOCKER-USER accepts nothing, so what other hosts' endpoints send to this host's endpoints ` +
      "is dropped by Docker's own rules (except ports Docker publishes), whatever the network allows: the network's rules cannot accept for Docker's table. " +
      "Accept routed traffic into the bridge in DOCKER-USER, e.g. iptables -I DOCKER-USER -i eth0 -o docker0 -j ACCEPT with the host's uplink for eth0 " +
      "(the network's rules still decide; see \"Plain Docker hosts\" in the README)",
  ];
}
