/**
 * Port sets: sorted, disjoint, non-adjacent inclusive ranges over one protocol's value space
 * (a destination port, or ICMP `type × 256 + code`). Pure functions; inputs are never changed.
 */
import { mergeRanges, PortRange } from "../ir";

export type PortSet = readonly PortRange[];

/** The highest value of every space: port 65535, ICMP type 255 code 255. */
export const SPACE_MAX = 65535;
export const FULL: PortSet = [{ from: 0, to: SPACE_MAX }];
export const EMPTY: PortSet = [];

/** Sorts and merges overlapping or adjacent ranges; empty ones (from > to) are dropped. */
export function normalize(ranges: readonly PortRange[]): PortSet {
  return mergeRanges(ranges.filter((r) => r.from <= r.to));
}

/**
 * Walks two sorted lists of disjoint ranges together and calls `visit` for every stretch both
 * cover, in order, with the range of each list that holds it.
 */
export function overlaps<A extends PortRange, B extends PortRange>(a: readonly A[], b: readonly B[], visit: (x: A, y: B, from: number, to: number) => void): void {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const from = Math.max(a[i].from, b[j].from);
    const to = Math.min(a[i].to, b[j].to);
    if (from <= to) visit(a[i], b[j], from, to);
    const [endA, endB] = [a[i].to, b[j].to];
    if (endA <= endB) i++;
    if (endB <= endA) j++;
  }
}

export function intersect(a: PortSet, b: PortSet): PortSet {
  const out: PortRange[] = [];
  overlaps(a, b, (_x, _y, from, to) => out.push({ from, to }));
  return out;
}

export function subtract(a: PortSet, b: PortSet): PortSet {
  return intersect(a, complement(b));
}

export function complement(a: PortSet): PortSet {
  const out: PortRange[] = [];
  let next = 0;
  for (const r of a) {
    if (r.from > next) out.push({ from: next, to: r.from - 1 });
    next = r.to + 1;
  }
  if (next <= SPACE_MAX) out.push({ from: next, to: SPACE_MAX });
  return out;
}

export function union(a: PortSet, b: PortSet): PortSet {
  return normalize([...a, ...b]);
}

export function isEmpty(a: PortSet): boolean {
  return a.length === 0;
}

export function contains(a: PortSet, value: number): boolean {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (value < a[mid].from) hi = mid - 1;
    else if (value > a[mid].to) lo = mid + 1;
    else return true;
  }
  return false;
}

export function size(a: PortSet): number {
  return a.reduce((n, r) => n + r.to - r.from + 1, 0);
}

export function sameSet(a: PortSet, b: PortSet): boolean {
  return a.length === b.length && a.every((r, i) => r.from === b[i].from && r.to === b[i].to);
}
