/** Probes: the kind of connection a reachability question is about (`tcp/80`, `icmp/8`, …). */
import { PROTO } from "../ir";

export interface Probe {
  /** As the user wrote it, normalized: `tcp/80`. */
  text: string;
  /** IANA protocol number (ICMP: 1; switched to ICMPv6 for IPv6 flows). */
  protocol: number;
  port?: number;
  icmpType?: number;
  icmpCode?: number;
  /** Source port; probes normally leave it unset (an ephemeral port no `src_ports` rule names). */
  srcPort?: number;
}

export const PROBE_SYNTAX = "tcp/PORT, udp/PORT, sctp/PORT, icmp/TYPE[/CODE] or icmpv6/TYPE[/CODE] (e.g. tcp/80, icmp/8)";

/** Parses a probe; returns an error message instead of throwing. */
export function parseProbe(text: string): Probe | string {
  const m = /^(tcp|udp|sctp|icmp|icmpv6)\/(\d{1,5})(?:\/(\d{1,3}))?$/i.exec(text.trim());
  if (!m) return `"${text}" is not a probe; write ${PROBE_SYNTAX}`;
  const kind = m[1].toLowerCase() as "tcp" | "udp" | "sctp" | "icmp" | "icmpv6";
  const n = Number(m[2]);
  if (kind === "icmp" || kind === "icmpv6") {
    const code = m[3] === undefined ? undefined : Number(m[3]);
    if (n > 255 || (code !== undefined && code > 255)) return `"${text}": ICMP type and code are 0-255`;
    return { text: `${kind}/${n}${code === undefined ? "" : `/${code}`}`, protocol: PROTO[kind], icmpType: n, ...(code === undefined ? {} : { icmpCode: code }) };
  }
  if (m[3] !== undefined) return `"${text}" is not a probe; write ${PROBE_SYNTAX}`;
  if (n < 1 || n > 65535) return `"${text}": the port must be 1-65535`;
  return { text: `${kind}/${n}`, protocol: PROTO[kind], port: n };
}

/** ICMP echo and friends have different numbers in ICMPv6; map the common ones for IPv6 flows. */
const ICMP_TO_V6: Record<number, number> = { 8: 128, 0: 129, 3: 1, 11: 3 };

export function probeForFamily(p: Probe, family: 4 | 6): Probe {
  if (family === 6 && p.protocol === PROTO.icmp) {
    return { ...p, protocol: PROTO.icmpv6, icmpType: ICMP_TO_V6[p.icmpType ?? -1] ?? p.icmpType };
  }
  return p;
}
