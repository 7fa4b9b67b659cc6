/**
 * What the renderer hands to the SSH target for one host, and the checks that keep generated
 * names safe to place in command lines. `provider/render` produces it and `provider/targets/ssh`
 * installs it; it lives below both so that neither imports the other.
 *
 * Ownership: the project owns the nftables table `inet <table>`; for iptables, the chains named
 * `<TABLE>` or `<TABLE>_...` (upper case) in the filter table, the FORWARD rules jumping to them,
 * and the ipsets named `<table>` or `<table>_...`. Nothing else is ever touched.
 */
import { Ownership, validateIpsetText, validateRestoreText } from './iptables-guard';
import { validateNftText } from './nft-guard';

export interface HostRuleset {
  /** The host's name in the model (for messages). */
  host: string;
  backend: 'nftables' | 'iptables';
  /** Generated table name, e.g. `netpol_3f2a1c9b`. */
  table: string;
  /** Hex sha256 of the rendered content; stored on the host to make apply idempotent. */
  hash: string;
  /** nftables: `table inet <table> { ... }`, the table block carrying `comment "netpol:<hash>"`. */
  nft?: string;
  iptables?: IptablesRuleset;
}

export interface IptablesRuleset {
  /** Input for `ipset restore`: create/flush/add lines of sets named `<table>` or `<table>_...`. */
  ipset: string;
  /** Inputs for `iptables-restore --noflush` / `ip6tables-restore --noflush`: `*filter`, own chains declared, rules, `COMMIT`. */
  v4: string;
  v6: string;
  /** The chain FORWARD jumps to, the table name upper-cased, e.g. `NETPOL_3F2A1C9B`; its hash chain (hashChainOf) must carry the rule `-m comment --comment "netpol:<hash>"`. */
  entryChain: string;
}

export { validateNftText };

export const TABLE_NAME = /^[a-z][a-z0-9_]{0,30}$/;
const HASH = /^[0-9a-f]{8,64}$/;

/**
 * The chain that holds the content hash: one rule `-m comment --comment "netpol:<hash>"` per
 * family and nothing else, never jumped to. An incremental apply rewrites it alone.
 */
export function hashChainOf(entryChain: string): string {
  return `${entryChain}_HASH`;
}

/** The upper-case prefix of the project's iptables chains for a table. */
export function chainPrefix(table: string): string {
  return table.toUpperCase();
}

export function isOwnChain(table: string, chain: string): boolean {
  const p = chainPrefix(table);
  return chain === p || (chain.startsWith(`${p}_`) && /^[A-Z0-9_]{1,28}$/.test(chain));
}

export function isOwnSet(table: string, set: string): boolean {
  return (set === table || set.startsWith(`${table}_`)) && /^[a-z0-9_]{1,31}$/.test(set);
}

/** Throws a plain Error describing the first problem with a ruleset's names and shape. */
export function validateRuleset(r: HostRuleset): void {
  if (!TABLE_NAME.test(r.table)) throw new Error(`table name "${r.table}" does not match ${TABLE_NAME}`);
  if (!HASH.test(r.hash)) throw new Error(`hash "${r.hash}" is not lower-case hex`);
  if (r.backend === 'nftables') {
    if (!r.nft) throw new Error('backend nftables needs the nft text');
    validateNftText(r.table, r.hash, r.nft);
  } else if (r.backend === 'iptables') {
    if (!r.iptables) throw new Error('backend iptables needs the iptables texts');
    if (r.table.length > 20) throw new Error(`table name "${r.table}" is too long for ipset names (at most 20 characters)`);
    if (!isOwnChain(r.table, r.iptables.entryChain)) {
      throw new Error(`entry chain "${r.iptables.entryChain}" must be ${chainPrefix(r.table)} or start with ${chainPrefix(r.table)}_`);
    }
    validateIptablesTexts(r.table, r.hash, r.iptables);
  } else {
    const never: never = r.backend;
    throw new Error(`unknown backend ${String(never)}`);
  }
}

/**
 * The iptables texts may only touch own chains and sets (iptables-guard.ts), and the entry chain
 * must carry the hash comment in both families.
 */
export function validateIptablesTexts(table: string, hash: string, texts: IptablesRuleset): void {
  const own = ownership(table, texts.entryChain);
  validateIpsetText(texts.ipset, own);
  for (const family of ['v4', 'v6'] as const) {
    validateRestoreText(family, texts[family], hash, own);
    const marker = hashRule(texts.entryChain, hash);
    if (!texts[family].split('\n').includes(marker)) throw new Error(`the ${family} text must carry the rule ${marker}`);
  }
}

/** The names a table owns, and the chain its hash lives in. */
export function ownership(table: string, entryChain: string): Ownership {
  return { isOwnChain: (c: string) => isOwnChain(table, c), isOwnSet: (s: string) => isOwnSet(table, s), hashChain: hashChainOf(entryChain) };
}

/** The one rule of the hash chain. */
export function hashRule(entryChain: string, hash: string): string {
  return `-A ${hashChainOf(entryChain)} -m comment --comment "netpol:${hash}"`;
}

/** The text a user reviews for one host, and the host's record keeps: the nft table, or the ipset and iptables inputs. */
export function rulesText(r: HostRuleset): string {
  if (r.nft !== undefined) return r.nft;
  if (r.iptables) {
    return [`# ipset restore`, r.iptables.ipset.trimEnd(), `# iptables-restore --noflush`, r.iptables.v4.trimEnd(), `# ip6tables-restore --noflush`, r.iptables.v6.trimEnd(), ""].join("\n");
  }
  return "";
}
