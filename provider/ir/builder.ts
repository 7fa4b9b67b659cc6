/**
 * Interns address sets and programs, so equal sets and programs get one id (and, once rendered,
 * one nftables set or chain). Ids are short hashes, stable across runs.
 *
 * A set built for a named purpose (a stack, a label group, a selector) takes its id from that
 * purpose, not from its members: an endpoint joining a group then changes the set's elements only,
 * and the chains that use the set keep their names, so a plan shows one element line, not a
 * renamed set and every chain that refers to it. Unnamed sets and programs are keyed by content.
 */
import { createHash } from "node:crypto";
import { formatCidr, parseCidr, subtract } from "../model/net";
import { AddressSet, Layer, PolicySet, Program } from ".";

export function shortHash(text: string, length = 12): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

function endpointsOf(names: Iterable<string>): AddressSet {
  return { kind: "endpoints", members: [...new Set(names)].sort() };
}

export class PolicySetBuilder {
  private readonly sets = new Map<string, AddressSet>();
  private readonly programs = new Map<string, Program>();
  private readonly setByKey = new Map<string, string>();
  /** A program's JSON text → its id: many endpoints share a program, and its hash is taken once. */
  private readonly programByText = new Map<string, string>();
  private readonly purposes = new Map<string, string>();

  /** The set of these endpoints' addresses, keyed by its members. Order of `names` does not matter. */
  endpointSet(names: Iterable<string>): string {
    return this.intern(endpointsOf(names));
  }

  /**
   * The set named by `key` (e.g. `stack:web`), whose members `members` computes once per build: a
   * key used by many rules is evaluated against the inventory once, and the id stays the same
   * when the members change. `purpose` says what it is in the model's words (`stack web`).
   */
  namedEndpointSet(key: string, purpose: string, members: () => Iterable<string>): string {
    let id = this.setByKey.get(key);
    if (id === undefined) {
      id = this.intern(endpointsOf(members()), key);
      this.setByKey.set(key, id);
      this.purposes.set(id, purpose);
    }
    return id;
  }

  /** The set `cidr` minus every `except` (already validated CIDRs), named by its text. */
  netSet(cidr: string, except: readonly string[] = []): string {
    const key = `nets:${cidr}-${[...except].sort().join(",")}`;
    const known = this.setByKey.get(key);
    if (known !== undefined) return known;
    const outer = parseCidr(cidr);
    if (!outer.ok) throw new Error(outer.reason);
    const inner = except.map((e) => {
      const r = parseCidr(e);
      if (!r.ok) throw new Error(r.reason);
      return r.cidr;
    });
    const id = this.intern({ kind: "nets", nets: subtract(outer.cidr, inner).map(formatCidr) });
    this.setByKey.set(key, id);
    if (!this.purposes.has(id)) this.purposes.set(id, except.length > 0 ? `network ${cidr} except ${[...except].sort().join(", ")}` : `network ${cidr}`);
    return id;
  }

  program(p: Program): string {
    const text = JSON.stringify(p);
    let id = this.programByText.get(text);
    if (id === undefined) {
      id = `p_${shortHash(text)}`;
      this.programByText.set(text, id);
      if (!this.programs.has(id)) this.programs.set(id, p);
    }
    return id;
  }

  private intern(set: AddressSet, key?: string): string {
    const id = `s_${shortHash(key === undefined ? JSON.stringify(set) : `key:${key}`)}`;
    if (!this.sets.has(id)) this.sets.set(id, set);
    return id;
  }

  build(base: Omit<PolicySet, "sets" | "programs" | "layers">, layers: Layer[]): PolicySet {
    const sortedEntries = <T>(m: Map<string, T>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    return { ...base, sets: sortedEntries(this.sets), setPurposes: sortedEntries(this.purposes), programs: sortedEntries(this.programs), layers };
  }
}
