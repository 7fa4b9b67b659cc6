/** Flows in the user's words: protocol names, port and ICMP ranges, groups of endpoints. */
import { PortRange, PROTO } from "../ir";
import type { Family } from "../model/net";
import { valueKind } from "./classes";
import { FULL, SPACE_MAX } from "./port-set";

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(PROTO).map(([name, n]) => [n, name]));

/** `tcp`, `icmp`, `proto/47`; the stand-in for every protocol the policies do not name is "other". */
export function protocolText(protocol: number, other: boolean): string {
  if (other) return "other protocols";
  return NAMES[protocol] ?? `proto/${protocol}`;
}

function icmpText(v: number): string {
  return `${v >> 8}/${v & 255}`;
}

/** A protocol and a set of its values: `tcp/80-81`, `tcp/*`, `icmp/8`, `icmp/3/1-3/3`. */
export function valuesText(protocol: number, other: boolean, ranges: readonly PortRange[]): string[] {
  const name = protocolText(protocol, other);
  switch (valueKind(protocol)) {
    case "ports": {
      // Port 0 is in the space but no connection uses it.
      const ports = ranges.map((r) => ({ from: Math.max(1, r.from), to: r.to })).filter((r) => r.from <= r.to);
      if (ports.length === 1 && ports[0].from === 1 && ports[0].to === SPACE_MAX) return [`${name}/*`];
      return ports.map((r) => (r.from === r.to ? `${name}/${r.from}` : `${name}/${r.from}-${r.to}`));
    }
    case "icmp": {
      if (ranges.length === 1 && ranges[0].from === 0 && ranges[0].to === SPACE_MAX) return [`${name}/*`];
      return ranges.map((r) => {
        const whole = (r.from & 255) === 0 && (r.to & 255) === 255;
        if (whole) return r.from >> 8 === r.to >> 8 ? `${name}/${r.from >> 8}` : `${name}/${r.from >> 8}-${r.to >> 8}`;
        return r.from === r.to ? `${name}/${icmpText(r.from)}` : `${name}/${icmpText(r.from)}-${icmpText(r.to)}`;
      });
    }
    case "none":
      return [name];
  }
}

/** A protocol of an analysis (`index` in its list) that can be on the wire between two endpoints. */
export interface WireProtocol {
  protocol: number;
  index: number;
  /** The stand-in for every protocol the policies do not name. */
  other: boolean;
}

/** The protocols of an analysis a pair of this family can use: ICMP of the other family never is. */
export function wireProtocols(protocols: readonly number[], family: Family | undefined): WireProtocol[] {
  const offWire = family === 4 ? PROTO.icmpv6 : family === 6 ? PROTO.icmp : -1;
  return protocols.flatMap((protocol, index) => (protocol === offWire ? [] : [{ protocol, index, other: index === protocols.length - 1 }]));
}

/** Values of every wire protocol over its whole space read better as one phrase: "all traffic". */
export function allTrafficOr(ports: string[], wire: readonly WireProtocol[]): string[] {
  const whole = new Set(wire.map((w) => valuesText(w.protocol, w.other, FULL).join()));
  return ports.length === whole.size && ports.every((p) => whole.has(p)) ? ["all traffic"] : ports;
}

/**
 * A group of endpoints as a reader would name it: the one name, `stack_one/* (3 endpoints)` when
 * the group is everything under a prefix, `* (n endpoints)` for all, else the first `shown` names.
 */
export function groupText(members: readonly string[], all: readonly string[], shown = 3): string {
  if (members.length === 1) return members[0];
  const n = `(${members.length} endpoints)`;
  if (members.length === all.length) return `* ${n}`;
  const slash = members[0].lastIndexOf("/");
  if (slash > 0) {
    const prefix = members[0].slice(0, slash + 1);
    if (members.every((m) => m.startsWith(prefix)) && all.filter((m) => m.startsWith(prefix)).length === members.length) return `${prefix}* ${n}`;
  }
  return `${members.slice(0, shown).join(", ")}${members.length > shown ? ", …" : ""} ${n}`;
}
