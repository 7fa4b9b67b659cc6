/**
 * Interns address sets and programs by content, so equal sets and programs get one id (and, once
 * rendered, one nftables set or chain). Ids are short content hashes: stable across runs.
 */
import { createHash } from "node:crypto";
import { formatCidr, parseCidr, subtract } from "../model/net";
import { AddressSet, Layer, PolicySet, Program } from "./ir";

export function shortHash(text: string, length = 12): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

export class PolicySetBuilder {
  private readonly sets = new Map<string, AddressSet>();
  private readonly programs = new Map<string, Program>();
  private readonly setByKey = new Map<string, string>();

  /** The set of these endpoints' addresses. Order of `names` does not matter. */
  endpointSet(names: Iterable<string>): string {
    const members = [...new Set(names)].sort();
    return this.intern({ kind: "endpoints", members });
  }

  /** The set `cidr` minus every `except` (already validated CIDRs). */
  netSet(cidr: string, except: readonly string[] = []): string {
    const outer = parseCidr(cidr);
    if (!outer.ok) throw new Error(outer.reason);
    const inner = except.map((e) => {
      const r = parseCidr(e);
      if (!r.ok) throw new Error(r.reason);
      return r.cidr;
    });
    return this.intern({ kind: "nets", nets: subtract(outer.cidr, inner).map(formatCidr) });
  }

  /**
   * Memoizes an expensive set computation under a caller-chosen key (e.g. a selector's text), so
   * a selector used by many rules is evaluated against the inventory once.
   */
  cached(key: string, compute: () => string): string {
    let id = this.setByKey.get(key);
    if (id === undefined) {
      id = compute();
      this.setByKey.set(key, id);
    }
    return id;
  }

  program(p: Program): string {
    const id = `p_${shortHash(JSON.stringify(p))}`;
    if (!this.programs.has(id)) this.programs.set(id, p);
    return id;
  }

  private intern(set: AddressSet): string {
    const id = `s_${shortHash(JSON.stringify(set))}`;
    if (!this.sets.has(id)) this.sets.set(id, set);
    return id;
  }

  build(base: Omit<PolicySet, "sets" | "programs" | "layers">, layers: Layer[]): PolicySet {
    const sortedEntries = <T>(m: Map<string, T>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    return { ...base, sets: sortedEntries(this.sets), programs: sortedEntries(this.programs), layers };
  }
}
