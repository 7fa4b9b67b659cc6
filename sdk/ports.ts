/**
 * Port helpers. `ports.*` give Rancher port strings (`"80/tcp"`, `"8000-8080/tcp"`);
 * `kubernetesPorts.*` give NetworkPolicy port objects.
 */
function check(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port ${port} is not from 1 to 65535`);
  return port;
}

function range(from: number, to: number): string {
  if (check(to) < check(from)) throw new RangeError(`port range ${from}-${to} ends before it starts`);
  return `${from}-${to}`;
}

/** Rancher `ports` entries. */
export const ports = {
  tcp: (port: number): string => `${check(port)}/tcp`,
  udp: (port: number): string => `${check(port)}/udp`,
  tcpRange: (from: number, to: number): string => `${range(from, to)}/tcp`,
  udpRange: (from: number, to: number): string => `${range(from, to)}/udp`,
};

/** One entry of a NetworkPolicy rule's `ports`. */
export interface KubernetesPort {
  /** The protocol the entry matches. */
  protocol: "TCP" | "UDP" | "SCTP";
  /** A port number, or a named port that resolves on the destination pod. Omitted: every port. */
  port?: number | string;
  /** With a numeric `port`: the last port of the range that starts there. */
  endPort?: number;
}

/** Kubernetes NetworkPolicy `ports` entries. */
export const kubernetesPorts = {
  tcp: (port: number | string): KubernetesPort => ({ protocol: "TCP", port: typeof port === "number" ? check(port) : port }),
  udp: (port: number | string): KubernetesPort => ({ protocol: "UDP", port: typeof port === "number" ? check(port) : port }),
  tcpRange: (from: number, to: number): KubernetesPort => (range(from, to), { protocol: "TCP", port: from, endPort: to }),
  udpRange: (from: number, to: number): KubernetesPort => (range(from, to), { protocol: "UDP", port: from, endPort: to }),
  allTcp: (): KubernetesPort => ({ protocol: "TCP" }),
};
