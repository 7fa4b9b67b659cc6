/**
 * What the hosts target does to one host, behind one small interface: the SSH appliers (nftables,
 * iptables) with the record the project keeps on each host (targets/ssh/host-record.ts), read with
 * the rules in one command and written by the apply under the table's lock. Tests that run without
 * the namespace lab construct a driver of their own; nothing else replaces this one.
 *
 * Every door writes and reads the same record, in the same folder per host name, so what one door
 * applies, the other sees as in sync.
 */
import { shortHash } from "../../ir/builder";
import type { HostRuleset } from "../../ruleset";
import { applyHost, deleteHost, readHost } from "../../targets/ssh/hosts";
import type { HostApplyOptions, ApplyResult, DeleteResult, HostReadResult } from "../../targets/ssh/apply-options";
import { DEFAULT_STATE_DIR } from "../../targets/ssh/rollback";
import type { SshTarget } from "../../targets/ssh/connect";

export type { HostRecord } from "../../targets/ssh/host-record";

/** What the deploy layer asks of an apply beyond the SSH options: the policy the record keeps. */
export interface DriverApplyOptions extends Omit<HostApplyOptions, "record"> {
  /** The network's policy (encodePolicy) for the host's record. @default none recorded */
  policy?: string;
}

export interface HostDriver {
  /** Applies under the table's lock and, once confirmed, leaves the host's record (rules text, listing, policy). */
  apply(target: SshTarget, ruleset: HostRuleset, options: DriverApplyOptions): Promise<ApplyResult>;
  /** Reads the rules and, in the same command, the host's record (`record`, when it has one). */
  read(target: SshTarget, host: string, backend: HostRuleset["backend"], table: string): Promise<HostReadResult>;
  /** Removes the rules, the rollback files and the record. */
  delete(target: SshTarget, host: string, backend: HostRuleset["backend"], table: string, options: Pick<HostApplyOptions, "stateDir">): Promise<DeleteResult>;
}

/**
 * The record folder of a host, one per host name: hosts that share a filesystem (containers of one
 * machine, the namespace lab) never share records. (The table's lock and rollback timer are kept
 * per table and network namespace instead, see targets/ssh/table-place.ts.)
 */
export function stateDirFor(host: string): string {
  return `${DEFAULT_STATE_DIR}/h_${shortHash(host, 10)}`;
}

export const sshDriver: HostDriver = {
  apply: (target, ruleset, { policy, ...options }) => applyHost(target, ruleset, { ...options, record: { dir: stateDirFor(ruleset.host), ...(policy !== undefined ? { policy } : {}) } }),
  read: (target, host, backend, table) => readHost(target, host, backend, table, stateDirFor(host)),
  delete: (target, host, backend, table, options) => deleteHost(target, host, backend, table, { ...options, recordDir: stateDirFor(host) }),
};
