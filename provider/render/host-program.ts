/**
 * The backend-neutral part of rendering: which chains, sets and dispatch entries a host needs,
 * computed once per PolicySet and shared by the nftables and iptables writers, which only print.
 *
 * - A **tier chain** is one tier of a program in a layer, with its continuation: `allow` returns
 *   (the other direction and layers still run), `deny` drops, `pass` and an `end: next` go to the
 *   next tier's chain. Tiers with equal content (in many programs, on many hosts) are one chain.
 * - A chain is **named by purpose**, like the compiler's sets (chain-names.ts): a hash of its
 *   layer, tier name, end origin and the name of the chain it goes to; where chains share that,
 *   also the sets their rules test; then their rules' origins; then the matches that tell them
 *   apart (a named port resolved per pod); any that still collide are sorted by content hash and
 *   all but the first get it as a suffix. So a changed port or action, or an added or removed rule
 *   (of a Calico profile; of a Rancher policy when it tests no new set), changes those rule lines
 *   only, not the chain's name, the dispatch entries that jump to it, or the earlier tiers that go
 *   to it. Names are settled once over every program on the listed hosts, so a chain has the same
 *   name on every host, whatever the order of compiling or rendering. Names are 12 hex digits and
 *   carry no user text.
 * - A **dispatch** entry sends a local endpoint's address, per layer and direction, to the first
 *   tier chain of its program (or straight to drop for a program without tiers).
 * - A host needs the dispatch of its own endpoints, the chains reachable from it, and the set parts
 *   (per family) those chains test.
 */
import { shortHash } from "../ir/builder";
import { AddressSet, HostInfo, LayerName, Match, PolicySet, Program, Rule, Tier } from "../ir";
import { Cidr, cidrOf, contains, Family, formatAddress, formatCidr, ipv4Value, parseAddress } from "../model/net";
import { nameChains, purposeOf } from "./chain-names";
import { ChainAction, ChainDraft, ChainNote, ChainRule, TierChain } from "./chains";
import { Dispatch, dispatchMaps, DispatchTarget, LocalAddress, sortedAddresses } from "./dispatch";

export type { Dispatch, DispatchEntry, DispatchTarget } from "./dispatch";
import { Branch, branchesOf, SetFacts } from "./match-branches";

/** A PolicySet that cannot be rendered (an IR invariant broken); says what and where. */
export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RenderError";
  }
}

export interface SetPart {
  id: string;
  family: Family;
  kind: AddressSet["kind"];
  /** What the set is for, in the model's words (`stack web`); user text, for comments only. */
  purpose: string;
  /** Sorted, unique: addresses, or disjoint CIDRs for nets. */
  elements: string[];
}

export interface HostProgram {
  host: HostInfo;
  /** In layer order; per layer egress then ingress; per direction v4 then v6. Empty maps omitted. */
  dispatch: Dispatch[];
  /** Sorted by id. */
  chains: TierChain[];
  /** Sorted by id then family. */
  sets: SetPart[];
}

/** One tier of a program: its chain (a signature until chains are named) and its note's key. */
interface ProgramNote {
  chain: string;
  note: string;
}

const LAYER_NAME = /^[a-z][a-z0-9]{0,15}$/;
/** An endpoint address, parsed and formatted once per PolicySet. */
interface Ip {
  family: Family;
  /** IPv4: the value; IPv6: fixed-width hex of it. Sorts like the number within a family. */
  key: number | string;
  /** Canonical text (RFC 5952 for IPv6). */
  text: string;
  /** Position among the PolicySet's distinct addresses of its family, in key order. */
  rank: number;
}

const byKey = (a: Ip, b: Ip) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function parseIp(text: string, endpoint: string): Ip {
  // Dotted quads that parse are already canonical (no leading zeros); IPv6 text varies.
  const v4 = ipv4Value(text);
  if (v4 !== undefined) return { family: 4, key: v4, text, rank: 0 };
  const a = parseAddress(text);
  if (!a || a.family !== 6) throw new RenderError(`endpoint "${endpoint}": "${text}" is not an IPv4 or IPv6 address`);
  return { family: 6, key: a.value.toString(16).padStart(32, "0"), text: formatAddress(a), rank: 0 };
}

/** Sorted, without CIDRs inside others (nft refuses overlapping intervals, ipset would duplicate). */
function outermost(cidrs: Cidr[]): Cidr[] {
  const sorted = [...cidrs].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : a.prefix - b.prefix));
  const out: Cidr[] = [];
  for (const c of sorted) {
    const last = out[out.length - 1];
    if (last && contains(last, c)) continue;
    out.push(c);
  }
  return out;
}

/**
 * The `HostProgram` of each host of one PolicySet: precomputes everything that does not depend on
 * the host, then answers per host. (Not a deploy plan: it knows nothing of what a host runs now.)
 */
export class HostPrograms {
  private readonly addresses = new Map<string, Ip[]>();
  /** Per family, the distinct address texts in key order: an `Ip`'s rank indexes this. */
  private readonly ranked: Record<Family, string[]> = { 4: [], 6: [] };
  private readonly localByHost = new Map<string, string[]>();
  /** The endpoints of the listed hosts, host after host; `hostedAt` is where a host's run starts. */
  private readonly hosted: string[] = [];
  private readonly hostedAt = new Map<string, number>();
  /** Per layer (in order) and direction, the program of each `hosted` endpoint: looked up once. */
  private columns: Record<"egress" | "ingress", (string | undefined)[]>[] | undefined;
  private readonly parts = new Map<string, SetPart>();
  private readonly facts = new Map<string, SetFacts>();
  /** Per IR match object, its JSON text (`JSON.stringify`), taken once: compilers share a match among many programs' rules. */
  private readonly matchTexts = new Map<Match, string>();
  /** Per match text, its branches and their JSON: equal matches built apart are lowered once. */
  private readonly branches = new Map<string, { branches: Branch[]; json: string[] }>();
  /** Per action kind (and chain or layer), its JSON text. */
  private readonly actionTexts = new Map<string, string>();
  /** Per IR set id, its purpose (`setPurpose`): set comments and tier notes name it. */
  private readonly purposes = new Map<string, string>();
  private readonly chains = new Map<string, TierChain>();
  /** Per layer, where each program's packets go first. */
  private readonly entries = new Map<LayerName, Map<string, DispatchTarget>>();
  private firstChains: Map<string, { chain: string | undefined }> | undefined;
  /** Per layer and program, its tiers' chains and notes (JSON), in tier order: signatures until named. */
  private readonly programNotes = new Map<LayerName, Map<string, ProgramNote[]>>();
  private readonly notes = new Map<string, ChainNote>();
  /** Per chain id, the key of the note it carries where a host's own tiers give no other. */
  private readonly defaultNotes = new Map<string, string>();
  /** A chain as a host prints it, with that host's note, by id and note key: one object per variant. */
  private readonly noted = new Map<string, Map<string, TierChain>>();
  /** Every set part, sorted by `<set id>/<family>` (the order a host lists them in); set with the chains. */
  private partList: SetPart[] = [];
  /** Per chain id, the positions in `partList` of the parts its rules test. */
  private readonly partsOf = new Map<string, number[]>();

  constructor(readonly policySet: PolicySet) {
    const seen = new Set<string>();
    for (const layer of policySet.layers) {
      if (!LAYER_NAME.test(layer.name)) throw new RenderError(`layer name "${layer.name}" is not a lowercase word`);
      if (seen.has(layer.name)) throw new RenderError(`layer "${layer.name}" appears twice in the policy set`);
      seen.add(layer.name);
    }
    for (const e of policySet.endpoints) {
      this.addresses.set(e.name, e.ips.map((ip) => parseIp(ip, e.name)));
      if (e.host !== undefined) {
        const list = this.localByHost.get(e.host) ?? [];
        list.push(e.name);
        this.localByHost.set(e.host, list);
      }
    }
    for (const h of policySet.hosts) {
      if (this.hostedAt.has(h.name)) continue;
      this.hostedAt.set(h.name, this.hosted.length);
      this.hosted.push(...(this.localByHost.get(h.name) ?? []));
    }
    // One sort of every address, so a set's members sort as small integers (setFacts), not as keys.
    const all = [...this.addresses.values()].flat();
    const v4 = all.filter((a) => a.family === 4).sort((a, b) => (a.key as number) - (b.key as number));
    const v6 = all.filter((a) => a.family === 6).sort(byKey);
    for (const list of [v4, v6]) {
      list.forEach((a, i) => {
        const ranked = this.ranked[a.family];
        if (i === 0 || list[i - 1].key !== a.key) ranked.push(a.text);
        a.rank = ranked.length - 1;
      });
    }
  }

  /** The set's rendered id and which families it holds (built on first use, then cached). */
  setFacts(irId: string): SetFacts {
    let f = this.facts.get(irId);
    if (f) return f;
    const set = this.policySet.sets[irId];
    if (!set) throw new RenderError(`a rule refers to set "${irId}", which the policy set does not define`);
    // Named after the IR id, not the members: the compiler keeps a set's id when its members
    // change (see ir/builder.ts), so its chains keep their names and a plan stays small.
    const id = `s_${shortHash(`set:${irId}`)}`;
    const byFamily: Record<Family, string[]> = { 4: [], 6: [] };
    if (set.kind === "endpoints") {
      const ranks: Record<Family, number[]> = { 4: [], 6: [] };
      for (const m of set.members) {
        const ips = this.addresses.get(m);
        if (ips !== undefined) for (let i = 0; i < ips.length; i++) ranks[ips[i].family].push(ips[i].rank);
      }
      for (const family of [4, 6] as const) {
        const sorted = Int32Array.from(ranks[family]).sort();
        const texts = this.ranked[family];
        const elements: string[] = [];
        for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) elements.push(texts[sorted[i]]);
        byFamily[family] = elements;
      }
    } else {
      const cidrs = set.nets.map((n) => {
        try { return cidrOf(n); } catch (e) { throw new RenderError(`set "${irId}": ${(e as Error).message}`); }
      });
      for (const family of [4, 6] as const) byFamily[family] = outermost(cidrs.filter((c) => c.family === family)).map(formatCidr);
    }
    const purpose = this.setPurpose(irId, set);
    for (const family of [4, 6] as const) {
      if (byFamily[family].length > 0) this.parts.set(`${id}/${family}`, { id, family, kind: set.kind, purpose, elements: byFamily[family] });
    }
    f = { id, has: { 4: byFamily[4].length > 0, 6: byFamily[6].length > 0 } };
    this.facts.set(irId, f);
    return f;
  }

  /** What a set is for: as the compiler named it, or else its members. */
  private setPurpose(irId: string, set: AddressSet): string {
    let text = this.purposes.get(irId);
    if (text === undefined) {
      text = this.policySet.setPurposes?.[irId]
        ?? (set.kind === "endpoints" ? `endpoints ${set.members.join(", ")}` : `networks ${set.nets.join(", ")}`);
      this.purposes.set(irId, text);
    }
    return text;
  }

  /** Where a packet governed by `programId` in layer `layer` goes first. */
  private entry(layer: LayerName, programId: string): DispatchTarget {
    let byProgram = this.entries.get(layer);
    if (byProgram === undefined) this.entries.set(layer, (byProgram = new Map()));
    let target = byProgram.get(programId);
    if (target) return target;
    const first = this.tierChains().get(`${layer}/${programId}`);
    if (first === undefined) throw new RenderError(`internal: the chains of ${layer} program "${programId}" were not built`);
    target = this.shortcut(first.chain);
    byProgram.set(programId, target);
    return target;
  }

  /** A chain without rules is just its tail: dispatch straight to it (allow: no entry at all). */
  private shortcut(first: string | undefined): DispatchTarget {
    for (let id = first; id !== undefined;) {
      const chain = this.chains.get(id);
      if (!chain || chain.rules.length > 0) return { kind: "jump", chain: id };
      if (chain.tail.kind === "return") return { kind: "none" };
      if (chain.tail.kind === "drop") return { kind: "drop" };
      id = chain.tail.chain;
    }
    return { kind: "drop" }; // a program without tiers denies
  }

  /**
   * The first chain of every program that an endpoint on a listed host runs, by `<layer>/<program>`,
   * building and naming every tier chain on first use. Naming needs them all at once: whether two
   * purposes collide is a question about the whole policy set, not about one host.
   */
  private tierChains(): Map<string, { chain: string | undefined }> {
    if (this.firstChains) return this.firstChains;
    const drafts = new Map<string, ChainDraft>();
    const firstSig = new Map<string, string | undefined>();
    const columns = this.programColumns();
    for (const [l, layer] of this.policySet.layers.entries()) {
      const drafted = new Set<string>();
      const layerNotes = new Map<string, ProgramNote[]>();
      this.programNotes.set(layer.name, layerNotes);
      for (const direction of ["egress", "ingress"] as const) {
        for (const programId of columns[l][direction]) {
          if (programId === undefined || drafted.has(programId)) continue;
          drafted.add(programId);
          const key = `${layer.name}/${programId}`;
          const program = this.policySet.programs[programId];
          if (!program) throw new RenderError(`layer "${layer.name}" refers to program "${programId}", which the policy set does not define`);
          const notes: ProgramNote[] = [];
          firstSig.set(key, this.draftTiers(layer.name, program, drafts, notes));
          layerNotes.set(programId, notes);
        }
      }
    }
    const names = nameChains([...drafts.values()]);
    const named = (sig: string) => {
      const id = names.get(sig);
      if (id === undefined) throw new RenderError(`internal: tier chain ${sig} has no name`);
      return id;
    };
    const rename = <A extends ChainAction>(a: A): A => (a.kind === "goto" ? { ...a, chain: named(a.chain) } : a);
    // Every part exists now (drafting lowered every match): number them in the order hosts list them.
    const partKeys = [...this.parts.keys()].sort();
    const partIndex = new Map(partKeys.map((k, i) => [k, i]));
    this.partList = partKeys.map((k) => this.parts.get(k) as SetPart);
    for (const d of drafts.values()) {
      const id = named(d.sig);
      const rules = d.rules.map((r) => ({ branch: r.branch, action: rename(r.action) }));
      // Tiers with this content share the chain. Its note here is the first of all their notes;
      // a host prints the first of the notes of its own tiers (see `withHostNotes`).
      const [first] = [...d.notes.keys()].sort();
      const note = d.notes.get(first);
      if (note === undefined) throw new RenderError(`internal: tier chain ${d.sig} has no note`);
      const parts = new Set<number>();
      for (const { branch } of rules) {
        for (const a of branch.addrs) {
          const key = `${a.set}/${branch.family ?? 0}`;
          const at = partIndex.get(key);
          if (at === undefined) throw new RenderError(`internal: set part ${key} was referenced but not built`);
          parts.add(at);
        }
      }
      this.partsOf.set(id, [...parts]);
      this.defaultNotes.set(id, first);
      this.chains.set(id, {
        id,
        note,
        textKey: `${id}\n${first}`,
        rules,
        tail: rename(d.tail),
        next: d.nextSig === undefined ? [] : [named(d.nextSig)],
      });
    }
    for (const layerNotes of this.programNotes.values()) for (const notes of layerNotes.values()) for (const n of notes) n.chain = named(n.chain);
    this.firstChains = new Map([...firstSig].map(([key, sig]) => [key, { chain: sig === undefined ? undefined : named(sig) }]));
    return this.firstChains;
  }

  private programColumns(): Record<"egress" | "ingress", (string | undefined)[]>[] {
    this.columns ??= this.policySet.layers.map((layer) => ({
      egress: this.hosted.map((name) => layer.egress[name]),
      ingress: this.hosted.map((name) => layer.ingress[name]),
    }));
    return this.columns;
  }

  /**
   * Drafts the program's tier chains from the last tier back (a tier's `goto` names the next
   * tier's draft by its signature until names are settled); returns the first tier's signature.
   */
  private draftTiers(layer: LayerName, program: Program, drafts: Map<string, ChainDraft>, notes: { chain: string; note: string }[]): string | undefined {
    let following: ChainDraft | undefined;
    for (let t = program.tiers.length - 1; t >= 0; t--) {
      const tier = program.tiers[t];
      const toNext: TierChain["tail"] | undefined = following === undefined ? undefined : { kind: "goto", chain: following.sig };
      // Falling off the last tier with `next` denies, as in the analysis; `pass` there falls off.
      const tail: TierChain["tail"] = tier.end === "allow" ? { kind: "return" }
        : tier.end === "next" && toNext ? toNext : { kind: "drop" };
      const rules: ChainRule[] = [];
      // `JSON.stringify({ rules, tail })`, from each match's branches stringified once.
      const ruleJson: string[] = [];
      for (const rule of tier.rules) {
        const action: ChainAction = rule.action === "allow" ? { kind: "return" }
          : rule.action === "deny" ? { kind: "drop" }
          : rule.action === "log" ? { kind: "log", layer }
          : toNext ?? tail;
        const matchText = this.matchText(rule.match);
        let lowered = this.branches.get(matchText);
        if (lowered === undefined) {
          const branches = branchesOf(rule.match, (id) => this.setFacts(id));
          this.branches.set(matchText, (lowered = { branches, json: branches.map((b) => JSON.stringify(b)) }));
        }
        const actionJson = this.actionText(action);
        lowered.branches.forEach((branch, i) => {
          rules.push({ branch, action });
          ruleJson.push(`{"branch":${lowered.json[i]},"action":${actionJson}}`);
        });
      }
      // The whole sha256: equal signatures are merged into one chain, so they must mean equal content.
      const sig = shortHash(`{"rules":[${ruleJson.join(",")}],"tail":${this.actionText(tail)}}`, 64);
      let draft = drafts.get(sig);
      if (!draft) {
        const goesOn = following !== undefined && [...rules.map((r) => r.action), tail].some((a) => a.kind === "goto");
        draft = following !== undefined && goesOn
          ? { sig, rules, tail, nextSig: following.sig, depth: following.depth + 1, purposes: new Map(), notes: new Map() }
          : { sig, rules, tail, depth: 0, purposes: new Map(), notes: new Map() };
        drafts.set(sig, draft);
      }
      const purpose = purposeOf(layer, tier, (m) => this.matchText(m));
      // Its text (JSON, so without a line break) and its matches tell purposes apart (chains.ts).
      draft.purposes.set(`${purpose.text}\n${purpose.matches.join("\n")}`, purpose);
      const note = this.noteOf(layer, tier);
      const noteKey = JSON.stringify(note);
      draft.notes.set(noteKey, note);
      this.notes.set(noteKey, note);
      notes.push({ chain: sig, note: noteKey });
      following = draft;
    }
    return following?.sig;
  }

  private matchText(m: Match): string {
    let text = this.matchTexts.get(m);
    if (text === undefined) this.matchTexts.set(m, (text = JSON.stringify(m)));
    return text;
  }

  private actionText(a: ChainAction): string {
    const key = a.kind === "goto" ? `goto ${a.chain}` : a.kind === "log" ? `log ${a.layer}` : a.kind;
    let text = this.actionTexts.get(key);
    if (text === undefined) this.actionTexts.set(key, (text = JSON.stringify(a)));
    return text;
  }

  /** A tier in the model's words: its layer and name, each rule's origin and sets, its end. */
  private noteOf(layer: LayerName, tier: Tier): ChainNote {
    const purpose = (id: string) => {
      const set = this.policySet.sets[id];
      return set ? this.setPurpose(id, set) : id;
    };
    // `network.policy[0] from stack web`: the origin, then each set tested, source sets first.
    const ruleNote = ({ origin, match }: Rule) => {
      let text = origin;
      if (match.src) for (const a of match.src) text += ` ${a.negate ? "not " : ""}from ${purpose(a.set)}`;
      if (match.dst) for (const a of match.dst) text += ` ${a.negate ? "not " : ""}to ${purpose(a.set)}`;
      return text;
    };
    return {
      tier: tier.name.startsWith(layer) ? tier.name : `${layer} ${tier.name}`,
      rules: tier.rules.map(ruleNote),
      end: tier.endOrigin,
    };
  }

  /** Everything `hostName` needs. Throws RenderError for a host the policy set does not list. */
  host(hostName: string): HostProgram {
    const host = this.policySet.hosts.find((h) => h.name === hostName);
    if (!host) throw new RenderError(`host "${hostName}" is not in the policy set; known hosts: ${this.policySet.hosts.map((h) => h.name).join(", ") || "(none)"}`);
    const local = this.localByHost.get(hostName) ?? [];
    const at = this.hostedAt.get(hostName) ?? 0;
    const columns = this.programColumns();
    const addresses: LocalAddress[] = [];
    local.forEach((name, endpoint) => {
      for (const a of this.addresses.get(name) ?? []) addresses.push({ family: a.family, rank: a.rank, text: a.text, endpoint });
    });
    sortedAddresses(addresses);
    const dispatch: Dispatch[] = [];
    const roots = new Set<string>();
    const tierNotes: ProgramNote[][] = [];
    for (const [l, layer] of this.policySet.layers.entries()) {
      const programs = new Set<string>();
      for (const direction of ["egress", "ingress"] as const) {
        const column = columns[l][direction];
        const targets = local.map((_, i) => {
          const programId = column[at + i];
          if (programId === undefined) return undefined;
          programs.add(programId);
          const target = this.entry(layer.name, programId);
          if (target.kind === "jump") roots.add(target.chain);
          return target;
        });
        const conflict = (first: string, second: string, address: string) =>
          new RenderError(`host "${hostName}": endpoints "${first}" and "${second}" share address ${address} but have different ${layer.name} ${direction} programs`);
        dispatch.push(...dispatchMaps(layer.name, direction, addresses, local, targets, conflict));
      }
      const layerNotes = this.programNotes.get(layer.name);
      for (const programId of programs) {
        const notes = layerNotes?.get(programId);
        if (notes !== undefined) tierNotes.push(notes);
      }
    }
    const chains = this.withHostNotes(this.reachable([...roots]), tierNotes);
    // Marked by position in `partList`, so they come out in its order without a sort per host.
    const used = new Uint8Array(this.partList.length);
    for (const chain of chains) for (const at of this.partsOf.get(chain.id) ?? []) used[at] = 1;
    const sets: SetPart[] = [];
    for (let at = 0; at < used.length; at++) if (used[at] === 1) sets.push(this.partList[at]);
    return { host, dispatch, chains, sets };
  }

  /**
   * The chains with the note this host's own tiers give them: of the notes of the tiers (of the
   * programs its endpoints run) that share a chain, the first. So a tier elsewhere in the network
   * never changes this host's text (a chain's name is settled network-wide, see chain-names.ts).
   */
  private withHostNotes(chains: TierChain[], tierNotes: readonly ProgramNote[][]): TierChain[] {
    const first = new Map<string, string>();
    for (const notes of tierNotes) {
      for (const { chain, note } of notes) {
        const seen = first.get(chain);
        if (seen === undefined || note < seen) first.set(chain, note);
      }
    }
    return chains.map((chain) => {
      const noteKey = first.get(chain.id);
      const note = noteKey === undefined ? undefined : this.notes.get(noteKey);
      if (noteKey === undefined || note === undefined || noteKey === this.defaultNotes.get(chain.id)) return chain;
      let variants = this.noted.get(chain.id);
      if (variants === undefined) this.noted.set(chain.id, (variants = new Map()));
      let variant = variants.get(noteKey);
      if (variant === undefined) variants.set(noteKey, (variant = { ...chain, note, textKey: `${chain.id}\n${noteKey}` }));
      return variant;
    });
  }

  private reachable(roots: string[]): TierChain[] {
    const seen = new Set<string>(roots);
    const queue = [...roots];
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      for (const n of this.chains.get(id)?.next ?? []) if (!seen.has(n)) { seen.add(n); queue.push(n); }
    }
    return [...seen].sort().flatMap((id) => this.chains.get(id) ?? []);
  }
}
