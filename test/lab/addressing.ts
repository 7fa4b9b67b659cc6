/**
 * Address plan of the namespace lab, and the guard that keeps it off real networks.
 *
 *   10.231.0.0/24          transit bridge between host namespaces (host i = 10.231.0.(i+1))
 *   10.231.(i+1).0/24      endpoints of host i (endpoint k = .(10+k)); the host side gateway is .1
 *   10.231.64-254.0/24     management: one /24 per lab run (the only lab addresses in the root
 *                          namespace), one /30 per host: root side .(4i+1), host side .(4i+2)
 *   fd00:231::/64          transit (host i = fd00:231::(i+1))
 *   fd00:231:0:(i+1)::/64  endpoints of host i (endpoint k = ::(10+k)); gateway fe80::1 (routed),
 *                          ::1 on the host's bridge (bridged hosts)
 *
 * Only the management /24 exists in the root namespace; everything else lives inside namespaces
 * the lab created, so concurrent labs can share it.
 */
import { run } from './run';

export const MAX_HOSTS = 63;
export const MAX_ENDPOINTS_PER_HOST = 240;

export function transitV4(host: number): string {
  return `10.231.0.${host + 1}`;
}
export function transitV6(host: number): string {
  return `fd00:231::${(host + 1).toString(16)}`;
}
export function transitMac(host: number): string {
  return `02:31:00:00:00:${(host + 1).toString(16).padStart(2, '0')}`;
}
export function endpointPrefixV4(host: number): string {
  return `10.231.${host + 1}.0/24`;
}
export function endpointPrefixV6(host: number): string {
  return `fd00:231:0:${(host + 1).toString(16)}::/64`;
}
export function gatewayV4(host: number): string {
  return `10.231.${host + 1}.1`;
}
/** The gateway's IPv6 address on a bridged host's br0 (routed hosts use fe80::1 per link). */
export function gatewayV6(host: number): string {
  return `fd00:231:0:${(host + 1).toString(16)}::1`;
}
export function endpointV4(host: number, k: number): string {
  return `10.231.${host + 1}.${10 + k}`;
}
export function endpointV6(host: number, k: number): string {
  return `fd00:231:0:${(host + 1).toString(16)}::${(10 + k).toString(16)}`;
}
export function mgmtRootV4(block: number, host: number): string {
  return `10.231.${block}.${4 * host + 1}`;
}
export function mgmtHostV4(block: number, host: number): string {
  return `10.231.${block}.${4 * host + 2}`;
}
export function mgmtPrefixV4(block: number, host: number): string {
  return `10.231.${block}.${4 * host}/30`;
}

/** Ranges that must never be routed in the root namespace (they only exist inside lab namespaces). */
const INNER_V4 = '10.231.0.0/18';
const INNER_V6 = 'fd00:231::/48';
export const MGMT_BLOCKS = { first: 64, last: 254 };

function v4ToInt(addr: string): number {
  return addr.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function v6ToBigInt(addr: string): bigint {
  let parts: string[];
  if (addr.includes('::')) {
    const [head, tail] = addr.split('::');
    const headParts = head ? head.split(':') : [];
    const tailParts = tail ? tail.split(':') : [];
    parts = [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  } else {
    parts = addr.split(':');
  }
  return parts.reduce((acc, p) => (acc << 16n) + BigInt(parseInt(p || '0', 16)), 0n);
}

/** Do two CIDR prefixes (same family) share any address? */
export function prefixesOverlap(a: string, b: string): boolean {
  const [aAddr, aLenText] = a.split('/');
  const [bAddr, bLenText] = b.split('/');
  const v6 = aAddr.includes(':');
  if (v6 !== bAddr.includes(':')) return false;
  const bits = v6 ? 128 : 32;
  const len = Math.min(Number(aLenText ?? bits), Number(bLenText ?? bits));
  if (v6) {
    const shift = BigInt(128 - len);
    return v6ToBigInt(aAddr) >> shift === v6ToBigInt(bAddr) >> shift;
  }
  const shift = 32 - len;
  return Math.floor(v4ToInt(aAddr) / 2 ** shift) === Math.floor(v4ToInt(bAddr) / 2 ** shift);
}

interface IpRoute {
  dst: string;
}
interface IpAddrInfo {
  addr_info?: Array<{ local: string; prefixlen: number }>;
}

/** Every prefix routed or assigned in the root namespace, default routes excluded. */
export async function rootPrefixes(): Promise<string[]> {
  const prefixes: string[] = [];
  for (const family of ['-4', '-6']) {
    const routes = JSON.parse((await run(['ip', '-j', family, 'route', 'show', 'table', 'all'])).stdout || '[]') as IpRoute[];
    for (const r of routes) {
      if (r.dst && r.dst !== 'default' && !r.dst.startsWith('fe80') && !r.dst.startsWith('ff00') && !r.dst.startsWith('127.') && r.dst !== '::1') {
        prefixes.push(r.dst.includes('/') ? r.dst : `${r.dst}/${r.dst.includes(':') ? 128 : 32}`);
      }
    }
    const links = JSON.parse((await run(['ip', '-j', family, 'addr', 'show'])).stdout || '[]') as IpAddrInfo[];
    for (const link of links) {
      for (const a of link.addr_info ?? []) prefixes.push(`${a.local}/${a.prefixlen}`);
    }
  }
  return prefixes;
}

/** Throws when the namespace-only ranges are routed in the root namespace (they would collide). */
export function assertInnerRangesFree(prefixes: readonly string[]): void {
  for (const inner of [INNER_V4, INNER_V6]) {
    const clash = prefixes.find((p) => prefixesOverlap(p, inner));
    if (clash) {
      throw new Error(
        `lab: the lab range ${inner} overlaps ${clash}, which is routed or assigned on this machine. ` +
          'The lab refuses to run so it cannot send traffic to a real network; change the lab ranges in test/lab/addressing.ts.',
      );
    }
  }
}

/** Picks a management /24 that nothing in the root namespace uses (call with the lab lock held). */
export function pickMgmtBlock(prefixes: readonly string[]): number {
  const free: number[] = [];
  for (let b = MGMT_BLOCKS.first; b <= MGMT_BLOCKS.last; b++) {
    const block = `10.231.${b}.0/24`;
    if (!prefixes.some((p) => prefixesOverlap(p, block))) free.push(b);
  }
  if (free.length === 0) {
    throw new Error('lab: no free management /24 in 10.231.64.0-10.231.254.255 (stale labs? see /run/netpol-lab)');
  }
  return free[Math.floor(Math.random() * free.length)];
}
