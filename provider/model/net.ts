/**
 * IPv4 / IPv6 addresses and CIDR prefixes as bigints, so membership, `except` containment and
 * prefix arithmetic are exact for both families. Pure; used by the schemas, the analysis and the
 * renderers alike.
 */

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** Network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

/**
 * A dotted quad's value: four octets of 0-255 in decimal, without leading zeros. Read character by
 * character into a number (it fits in 32 bits), so one address costs one bigint, not four (none
 * where a number is all that is needed, as for sorting and ranking): every endpoint's address is
 * parsed by the schema and the renderers.
 */
export function ipv4Value(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return undefined; // a leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + octet;
}

function parseV4(text: string): bigint | undefined {
  const value = ipv4Value(text);
  return value === undefined ? undefined : BigInt(value);
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  let value = all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

export interface Address {
  family: Family;
  value: bigint;
}

export function parseAddress(text: string): Address | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = text.includes(":") ? parseV6(text) : undefined;
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

export const bits = (family: Family): number => (family === 4 ? 32 : 128);

function mask(family: Family, prefix: number): bigint {
  const width = BigInt(bits(family));
  return ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n);
}

export type CidrResult = { ok: true; cidr: Cidr } | { ok: false; reason: string };

/** Parses `a.b.c.d/n` or `x::/n`; host bits set is an error with the corrected form suggested. */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf("/");
  if (slash < 0) {
    const addr = parseAddress(text);
    if (!addr) return { ok: false, reason: `"${text}" is not an IPv4 or IPv6 CIDR` };
    return { ok: false, reason: `CIDR mask is missing in "${text}". Did you mean "${text}/${bits(addr.family)}"?` };
  }
  const addr = parseAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!addr) return { ok: false, reason: `"${text}" is not an IPv4 or IPv6 CIDR` };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits(addr.family))) {
    return { ok: false, reason: `"${text}" has prefix length "${prefixText}"; it must be 0-${bits(addr.family)}` };
  }
  const base = addr.value & mask(addr.family, prefix);
  if (base !== addr.value) {
    const fixed = `${formatAddress({ family: addr.family, value: base })}/${prefix}`;
    return { ok: false, reason: `"${text}" has host bits set. Did you mean "${fixed}"?` };
  }
  return { ok: true, cidr: { family: addr.family, base, prefix } };
}

export function cidrOf(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(r.reason);
  return r.cidr;
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix &&
    (inner.base & mask(outer.family, outer.prefix)) === outer.base;
}

export function containsAddress(cidr: Cidr, addr: Address): boolean {
  return cidr.family === addr.family && (addr.value & mask(cidr.family, cidr.prefix)) === cidr.base;
}

export function formatAddress(addr: Address): string {
  if (addr.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((addr.value >> s) & 0xffn)).join(".");
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((addr.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress({ family: c.family, value: c.base })}/${c.prefix}`;
}

/** `include` minus every `except`, as a sorted list of disjoint prefixes (for interval sets). */
export function subtract(include: Cidr, excepts: readonly Cidr[]): Cidr[] {
  let pieces: Cidr[] = [include];
  for (const ex of excepts) {
    const next: Cidr[] = [];
    for (const piece of pieces) {
      if (contains(ex, piece)) continue;
      if (!contains(piece, ex)) { next.push(piece); continue; }
      // Split `piece` down towards `ex`, keeping every sibling half that does not hold it.
      let cur = piece;
      while (cur.prefix < ex.prefix) {
        const width = BigInt(bits(cur.family) - cur.prefix - 1);
        const lo: Cidr = { family: cur.family, base: cur.base, prefix: cur.prefix + 1 };
        const hi: Cidr = { family: cur.family, base: cur.base | (1n << width), prefix: cur.prefix + 1 };
        if (contains(lo, ex)) { next.push(hi); cur = lo; } else { next.push(lo); cur = hi; }
      }
    }
    pieces = next;
  }
  return pieces.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : a.prefix - b.prefix));
}
