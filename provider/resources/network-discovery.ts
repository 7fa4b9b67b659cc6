/**
 * `discover: docker` for the Network resource. `check` reads the discovering hosts' containers
 * live (deploy/discovery.ts, the same step as the CLI's) and keeps the endpoints it found as the
 * `discovered` input, beside the rules they render to: the preview shows both, and create, update,
 * read and delete work on exactly what the preview showed, never on a second, later reading.
 */
import { DiscoveryError, discoverModel, discoveringHosts } from "../deploy/discovery";
import { InputError } from "../model/errors";
import { Endpoint } from "../model/inventory";
import type { Model } from "../model/model";
import { CheckFailure, modelFailures, Props, sshTarget } from "./inputs";
import type { NetworkInputs } from "./schema";

export interface NetworkDiscovery {
  /** The endpoints of the discovering hosts, in host order; absent when no host discovers. */
  discovered?: Endpoint[];
  failures: CheckFailure[];
}

/**
 * Reads the containers of every host of `n` that says `discover: docker`. A host that cannot be
 * read is a failure at `hosts[i]` naming the host and the cause; a name or address clash is one
 * naming both endpoints. Nothing is written anywhere.
 */
export async function discoverNetwork(n: NetworkInputs, model: Model): Promise<NetworkDiscovery> {
  if (discoveringHosts(model).length === 0) return { failures: [] };
  const connections = new Map(n.hosts.filter((h) => h.discover === "docker").map((h) => [h.name, sshTarget(h.ssh)]));
  try {
    const found = await discoverModel(model, connections, "network");
    return { discovered: found.hosts.flatMap((h) => h.endpoints), failures: [] };
  } catch (e) {
    if (e instanceof DiscoveryError) {
      return {
        failures: e.failures.map((f) => {
          const at = n.hosts.findIndex((h) => h.name === f.host);
          return { property: at >= 0 ? `hosts[${at}]` : "hosts", reason: `${f.message} (nothing was changed)` };
        }),
      };
    }
    if (e instanceof InputError) return { failures: modelFailures(e) };
    throw e;
  }
}

/** The endpoints a check discovered, from inputs or outputs (none when absent). */
export function discoveredOf(props: Props): Endpoint[] {
  return Array.isArray(props.discovered) ? (props.discovered as Endpoint[]) : [];
}
