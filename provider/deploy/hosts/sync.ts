/**
 * The one judgement of a host against the model: is the network's table there, does it carry the
 * hash the model renders, and is it still what the last apply left (the record)? A hand edit
 * keeps the hash comment but changes the listing: that is drift.
 */
import type { HostReadResult } from "../../targets/ssh/apply-options";
import { normalizeNftListing } from "../../targets/ssh/nftables-listing";
import type { Drift, SyncState } from "../target";
import type { HostRecord } from "./driver";

export interface HostSync {
  state: Exclude<SyncState, "not ours">;
  /** One line, for every state but a plain "in sync". */
  reason?: string;
  drift?: Drift;
}

/** A listing as compared: counters zeroed (traffic is not drift), no trailing blank lines. */
export function normalizeListing(text: string): string {
  return normalizeNftListing(text).trimEnd();
}

/** Where a listing differs from the one the last apply recorded, if it does. */
export function listingDrift(recorded: string, live: string): Drift | undefined {
  const want = normalizeListing(recorded).split("\n");
  const have = normalizeListing(live).split("\n");
  if (want.join("\n") === have.join("\n")) return undefined;
  const found = have.findIndex((line, n) => line !== want[n]);
  const i = found === -1 ? have.length : found;
  return { reason: `the rules were edited on the host (first difference at line ${i + 1}: "${(have[i] ?? "").trim()}")` };
}

const short = (hash: string | undefined) => hash?.slice(0, 12) ?? "(no hash)";

export function hostSync(desiredHash: string, live: HostReadResult, record: HostRecord | undefined): HostSync {
  if (!live.present) return { state: "missing", reason: "no rules of this network on the host" };
  if (live.hash !== desiredHash) return { state: "out of date", reason: `the host carries ${short(live.hash)}, the model renders ${short(desiredHash)}` };
  if (record === undefined) return { state: "in sync", reason: "hash matches; no listing recorded to compare content" };
  const drift = listingDrift(record.live, live.text ?? "");
  return drift ? { state: "drift", reason: drift.reason, drift } : { state: "in sync" };
}
