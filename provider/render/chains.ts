/**
 * The tier chains a host program holds (see host-program.ts), and their drafts: a chain as it is
 * built, before chain-names.ts gives it its name. Data only.
 */
import { LayerName } from "../ir";
import { Branch } from "./match-branches";

/** Where a rule or a dispatch entry sends the packet. `log` goes on to the next rule. */
export type ChainAction =
  | { kind: "return" }
  | { kind: "drop" }
  | { kind: "goto"; chain: string }
  | { kind: "log"; layer: LayerName };

export interface ChainRule {
  branch: Branch;
  action: ChainAction;
}

/**
 * What a tier chain is for, in the model's words: the writers print it as the chain's comment
 * (with the rule lines they print counted). It holds user text (stack names, selectors), so the
 * writers pass it through `commentText`.
 */
export interface ChainNote {
  /** Layer and tier: `rancher network policy`, `calico profile WEB`. */
  tier: string;
  /** Per IR rule, its origin and the sets it tests: `network.policy[0] from stack web`. */
  rules: string[];
  /** What decides when no rule matches: `network.defaultPolicyAction`. */
  end: string;
}

export interface TierChain {
  /** 12 hex digits of the hash of the chain's purpose (see chain-names.ts). */
  id: string;
  note: ChainNote;
  /** What the writers keep the chain's text by: its id and its note (a host prints its own note). */
  textKey: string;
  rules: ChainRule[];
  /** What happens to a packet no rule decided. */
  tail: Exclude<ChainAction, { kind: "log" }>;
  /** Tier chains this one may go to. */
  next: string[];
}

/** A tier chain before it is named: `goto`s name the next chain by its signature. */
export interface ChainDraft {
  /** sha256 of the content (with the next chain's signature, so equal signatures are equal chains). */
  sig: string;
  rules: ChainRule[];
  tail: TierChain["tail"];
  /** The chain this one goes to, when it does (always the next tier's). */
  nextSig?: string;
  /** 0 for a chain that goes to no other, else one more than the chain it goes to. */
  depth: number;
  /** The tiers with this content, by their JSON: the chain is named after one of them. */
  purposes: Map<string, Purpose>;
  /** Their notes, by JSON: the smallest is the chain's comment. */
  notes: Map<string, ChainNote>;
}

/** What a tier is for, as far as it does not change when a rule's ports or action do. */
export interface Purpose {
  /** JSON of the layer, tier name and end origin. */
  tier: string;
  /** JSON of the layer, tier name, end origin, and the set ids the rules test (sorted, once each). */
  coarse: string;
  /** JSON of the layer, tier name, end origin, and per rule its origin and the set ids it tests. */
  text: string;
  /** JSON of each rule's match: what tells apart purposes with the same text. */
  matches: string[];
}
