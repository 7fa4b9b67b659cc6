/**
 * A host's verdict maps (see host-program.ts): per layer and direction, each local address to the
 * first tier chain of its endpoint's program. Built from the host's addresses sorted once (by
 * family, then rank), so each map is one pass, not a sort per layer and direction.
 */
import { Direction, LayerName } from "../ir";
import { Family } from "../model/net";

/** `none`: the program allows everything, so the endpoint needs no entry. */
export type DispatchTarget = { kind: "drop" } | { kind: "jump"; chain: string } | { kind: "none" };

export interface DispatchEntry {
  /** Normalized address text. */
  address: string;
  target: Exclude<DispatchTarget, { kind: "none" }>;
  /** The local endpoints with this address (sorted; one, unless endpoints share an address). */
  endpoints: string[];
}

/** One verdict map: the local endpoints governed in one layer, direction and family. */
export interface Dispatch {
  layer: LayerName;
  direction: Direction;
  family: Family;
  /** Sorted by address. */
  entries: DispatchEntry[];
}

/** One address of a local endpoint: `endpoint` indexes the host's endpoints. */
export interface LocalAddress {
  family: Family;
  /** Position among the PolicySet's distinct addresses of its family (sorts like the address). */
  rank: number;
  text: string;
  endpoint: number;
}

/** The host's addresses by family, then rank; equal ones in the endpoints' order. */
export function sortedAddresses(addresses: LocalAddress[]): LocalAddress[] {
  return addresses.sort((a, b) => a.family - b.family || a.rank - b.rank);
}

/**
 * The maps (v4 then v6, empty ones omitted) of one layer and direction. `targets[i]` is where
 * endpoint i's program starts (undefined: not governed). Endpoints sharing an address share its
 * entry when they start alike; otherwise `conflict` says why it cannot be rendered.
 */
export function dispatchMaps(
  layer: LayerName,
  direction: Direction,
  addresses: readonly LocalAddress[],
  names: readonly string[],
  targets: readonly (DispatchTarget | undefined)[],
  conflict: (first: string, second: string, address: string) => Error,
): Dispatch[] {
  const maps: Dispatch[] = [];
  let entries: DispatchEntry[] = [];
  let family: Family | undefined;
  let prev: LocalAddress | undefined;
  let prevTarget: DispatchTarget | undefined;
  const close = () => {
    if (family !== undefined && entries.length > 0) maps.push({ layer, direction, family, entries });
  };
  for (const a of addresses) {
    const target = targets[a.endpoint];
    if (target === undefined || target.kind === "none") continue;
    if (a.family !== family) {
      close();
      entries = [];
      family = a.family;
      prev = undefined;
    }
    if (prev !== undefined && prev.rank === a.rank) {
      const last = entries[entries.length - 1];
      if (JSON.stringify(prevTarget) !== JSON.stringify(target)) throw conflict(names[prev.endpoint], names[a.endpoint], a.text);
      last.endpoints = [...last.endpoints, names[a.endpoint]].sort();
    } else {
      entries.push({ address: a.text, target, endpoints: [names[a.endpoint]] });
    }
    prev = a;
    prevTarget = target;
  }
  close();
  return maps;
}
