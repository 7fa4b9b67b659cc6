/**
 * Checks expectations (provider/model/expectations.ts) against a policy set: every pair of
 * distinct endpoints the selectors expand to, per pair of classes, over every value of the
 * expected ports. A failure names the flow, the expected and actual verdict and the deciding rule.
 */
import { PolicySet, PortRange, PROTO } from "../ir";
import { Expectation, SelectorInput } from "../model/expectations";
import { Model } from "../model/model";
import { ClassAnalysis, Outcome } from "./classes";
import { valuesText } from "./flows";
import { FULL, intersect, PortSet } from "./port-set";
import { parseProbe, probeForFamily } from "./probe";

export interface ExpectationFailure {
  /** Index in the list, and the expectation's name (or `expect[i]`). */
  index: number;
  name: string;
  expected: "allow" | "deny";
  actual?: "allow" | "deny";
  /** One failing pair, and how many pairs fail in all. */
  from?: string;
  to?: string;
  pairs: number;
  /** The values that fail for that pair: `tcp/5432`, `tcp/1-5431`. */
  ports: string[];
  /** The deciding rules of the actual verdict. */
  why: string[];
  /** Set when the expectation cannot be checked (a selector that selects nothing, a bad probe). */
  problem?: string;
}

export interface ExpectationReport {
  checked: number;
  failures: ExpectationFailure[];
}

type Endpoint = NonNullable<Model["endpoints"]>[number];

function globRegex(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

function selects(sel: SelectorInput, e: Endpoint): boolean {
  if (Array.isArray(sel)) return sel.some((one) => selects(one, e));
  if (typeof sel === "string") return /[*?]/.test(sel) ? globRegex(sel).test(e.name) : sel === e.name;
  if (sel.namespace !== undefined && e.namespace !== sel.namespace) return false;
  if (sel.labels && !Object.entries(sel.labels).every(([k, v]) => e.labels?.[k] === v)) return false;
  return !(sel.not !== undefined && selects(sel.not, e));
}

/** A port item (`tcp/80-90`, `icmp/8`) as a protocol and a set of its values. */
interface PortItem {
  protocol: number;
  values: PortSet;
  /** A single ICMP type: switched to ICMPv6's number for IPv6 pairs. */
  icmpType?: number;
}

function portItem(text: string): PortItem {
  const m = /^(tcp|udp|sctp|icmp|icmpv6)(?:\/(\d{1,5})(?:-(\d{1,5}))?(?:\/(\d{1,3}))?)?$/i.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not PROTOCOL[/PORT[-PORT]]`);
  const name = m[1].toLowerCase() as "tcp" | "udp" | "sctp" | "icmp" | "icmpv6";
  const protocol = PROTO[name];
  const a = m[2] === undefined ? undefined : Number(m[2]);
  const b = m[3] === undefined ? a : Number(m[3]);
  if (name === "icmp" || name === "icmpv6") {
    if (a === undefined) return { protocol, values: FULL };
    if (m[3] !== undefined || a > 255) throw new Error(`"${text}": write icmp/TYPE or icmp/TYPE/CODE, 0-255`);
    const code = m[4] === undefined ? undefined : Number(m[4]);
    return { protocol, icmpType: a, values: code === undefined ? [{ from: a * 256, to: a * 256 + 255 }] : [{ from: a * 256 + code, to: a * 256 + code }] };
  }
  if (m[4] !== undefined) throw new Error(`"${text}": a port range is PORT-PORT`);
  if (a === undefined || b === undefined) return { protocol, values: [{ from: 1, to: 65535 }] };
  if (a < 1 || b > 65535 || a > b) throw new Error(`"${text}": ports are 1-65535, the first not above the second`);
  return { protocol, values: [{ from: a, to: b }] };
}

/** The first piece of `o` inside `values` whose verdict is not `expected`, with the failing values. */
function firstWrong(o: Outcome, values: PortSet, expected: boolean): { ranges: PortRange[]; why: readonly string[] } | undefined {
  for (const piece of o) {
    if (piece.allowed === expected) continue;
    const hit = intersect(values, [{ from: piece.from, to: piece.to }]);
    if (hit.length > 0) return { ranges: [...hit], why: piece.why };
  }
  return undefined;
}

export function checkExpectations(model: Model, policySet: PolicySet, list: readonly Expectation[], classes = new ClassAnalysis(policySet)): ExpectationReport {
  const failures: ExpectationFailure[] = [];
  list.forEach((e, index) => {
    const base = { index, name: e.name ?? `expect[${index}]`, expected: e.verdict, pairs: 0, ports: [], why: [] };
    const byClass = (sel: SelectorInput) => {
      const out = new Map<number, string[]>();
      for (const ep of model.endpoints ?? []) if (selects(sel, ep)) {
        const c = classes.classOf(ep.name);
        const list = out.get(c);
        if (list) list.push(ep.name);
        else out.set(c, [ep.name]);
      }
      return out;
    };
    const froms = byClass(e.from);
    const tos = byClass(e.to);
    if (froms.size === 0 || tos.size === 0) {
      failures.push({ ...base, problem: `${froms.size === 0 ? "from" : "to"} selects no endpoint` });
      return;
    }
    let items: PortItem[];
    const probe = e.probe === undefined ? undefined : parseProbe(e.probe);
    if (typeof probe === "string") {
      failures.push({ ...base, problem: probe });
      return;
    }
    try {
      items = e.ports ? e.ports.map(portItem) : [];
    } catch (err) {
      failures.push({ ...base, problem: err instanceof Error ? err.message : String(err) });
      return;
    }
    const expected = e.verdict === "allow";
    let failure: ExpectationFailure | undefined;
    for (const [cs, fromMembers] of froms) for (const [cd, toMembers] of tos) {
      // Any pair of two distinct endpoints stands for the pair of classes (the same one is always allowed).
      const from = fromMembers.find((f) => toMembers.some((t) => t !== f));
      const to = toMembers.find((t) => t !== from);
      if (from === undefined || to === undefined) continue;
      const pair = classes.pair(cs, cd);
      let wrong: { text: string[]; why: readonly string[] } | undefined;
      if (probe) {
        const piece = classes.pieceFor(pair, probe);
        if (piece.allowed !== expected) wrong = { text: [probe.text], why: piece.why };
      } else {
        for (const item of items) {
          let protocol = item.protocol;
          let values = item.values;
          if (pair.family === 6 && protocol === PROTO.icmp) {
            protocol = PROTO.icmpv6;
            if (item.icmpType !== undefined) {
              const t = probeForFamily({ text: "", protocol: PROTO.icmp, icmpType: item.icmpType }, 6).icmpType ?? item.icmpType;
              values = values.map((r) => ({ from: t * 256 + (r.from & 255), to: t * 256 + (r.to & 255) }));
            }
          }
          const outcome = pair.family === undefined ? pair.outcomes[0] : pair.outcomes[classes.protocolIndex(protocol)];
          const w = firstWrong(outcome, values, expected);
          if (w) {
            wrong = { text: valuesText(protocol, false, w.ranges), why: w.why };
            break;
          }
        }
      }
      if (!wrong) continue;
      const overlap = cs === cd ? fromMembers.filter((f) => toMembers.includes(f)).length : 0;
      const pairs = fromMembers.length * toMembers.length - overlap;
      if (failure) failure.pairs += pairs;
      else {
        failure = {
          ...base, actual: expected ? "deny" : "allow", from, to, pairs, ports: wrong.text,
          why: wrong.why.length === 0 ? ["not filtered"] : [...wrong.why],
        };
      }
    }
    if (failure) failures.push(failure);
  });
  return { checked: list.length, failures };
}

/** One line per failed expectation. */
export function formatFailure(f: ExpectationFailure): string {
  if (f.problem !== undefined) return `✗ ${f.name}: cannot check: ${f.problem}`;
  const more = f.pairs > 1 ? ` (and ${f.pairs - 1} more pair${f.pairs === 2 ? "" : "s"})` : "";
  const verdictBy = f.actual === "allow" ? `allowed by ${f.why.join(" + ")}` : `denied by ${f.why.join("; ")}`;
  return `✗ ${f.name}: ${f.from} → ${f.to}${more} ${f.ports.join(", ")}: expected ${f.expected}, ${verdictBy}`;
}
