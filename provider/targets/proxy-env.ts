/**
 * Whether the environment asks for an API server (Kubernetes or Rancher) to be reached through a proxy, read the way
 * kubectl (Go's `httpproxy`) reads it: `HTTPS_PROXY` (or `https_proxy`) for an https server,
 * `HTTP_PROXY` for an http one, unless `NO_PROXY` lists the host; loopback addresses and
 * `localhost` never go through a proxy. The client does not tunnel through proxies, so a server
 * the environment would proxy is refused with a message instead of being reached directly behind
 * the user's back.
 */
import * as net from 'net';

/** The proxy variable that applies to `server`, e.g. `HTTPS_PROXY`, or undefined when none does. */
export function proxyFor(server: URL, env: Record<string, string | undefined>): string | undefined {
  const names = server.protocol === 'https:' ? ['HTTPS_PROXY', 'https_proxy'] : ['HTTP_PROXY', 'http_proxy'];
  const name = names.find((n) => (env[n] ?? '').trim() !== '');
  if (name === undefined) return undefined;
  const host = server.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(host)) return undefined;
  const port = server.port || (server.protocol === 'https:' ? '443' : '80');
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((e) => e.trim().toLowerCase()).filter((e) => e !== '');
  return noProxy.some((entry) => excludes(entry, host, port)) ? undefined : name;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && host === '::1';
}

/** One `NO_PROXY` entry: `*`, an address or CIDR, a domain (`example.com` or `.example.com`), each with an optional `:port`. */
function excludes(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true;
  if (entry.includes('/')) return inCidr(host, entry);
  // `[::1]:6443`, `host:6443`; a bare IPv6 address has colons but no port.
  const withPort = net.isIPv6(entry) ? undefined : /^\[?([^\]]*?)\]?:(\d+)$/.exec(entry);
  if (withPort !== null && withPort !== undefined && withPort[2] !== port) return false;
  const name = withPort ? withPort[1] : entry.replace(/^\[|\]$/g, '');
  if (net.isIP(name)) return name === host;
  const domain = name.replace(/^\*?\./, '');
  return host === domain || host.endsWith(`.${domain}`);
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const family = net.isIPv4(base) ? 'ipv4' : net.isIPv6(base) ? 'ipv6' : undefined;
  if (family === undefined || !Number.isInteger(bits) || (family === 'ipv4' ? !net.isIPv4(host) : !net.isIPv6(host))) return false;
  const list = new net.BlockList();
  list.addSubnet(base, bits, family);
  return list.check(host, family);
}
