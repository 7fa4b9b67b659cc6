/** Options and results shared by the nftables and iptables appliers. */

import type { ForwardReport } from './forward-check';
import type { NatRule } from './nat-check';
import type { HostRecord } from './host-record';
import type { SshSession } from './session';

/**
 * The steps (SshObserver `step`) whose command only reads a host's state. A no-op apply is the
 * table's lock (table-lock.ts, LOCK_TABLE_STEP) and one of them per host; everything else changes
 * something.
 */
export const READ_TABLE_STEP = 'read table';
export const READ_IPTABLES_STEP = 'read iptables state';
export const READ_IPSETS_STEP = 'read ipsets';
export const READ_STEPS: ReadonlySet<string> = new Set([READ_TABLE_STEP, READ_IPTABLES_STEP, READ_IPSETS_STEP]);

export interface ApplyHooks {
  /** Test-only: runs once the rollback timer is armed, before the first live step (iptables). */
  afterArm?: () => Promise<void>;
  /** Test-only: runs after the new rules are live and before the confirming connection is opened. */
  afterApplyBeforeConfirm?: () => Promise<void>;
}

export interface HostApplyOptions {
  /** Seconds after which the host restores the previous rules unless the apply was confirmed. @default 20 */
  rollbackTimerSec?: number;
  /** Where the table's rollback files live on the host (named after the table and the host's network namespace, see table-place.ts). @default '/var/lib/pulumi-netpolicy' */
  stateDir?: string;
  /** Apply even when the host already carries the desired hash (repairs drift). @default false */
  force?: boolean;
  /** After a failed confirm, wait for the timer and check that the host restored itself. @default true */
  waitForRollback?: boolean;
  hooks?: ApplyHooks;
  /**
   * An open connection to the host to run the apply on (watch's event stream connection: no new
   * handshake per change); the caller keeps it and closes it. The confirm still opens a new one,
   * since that a new connection can be made is what it proves. @default a new connection
   */
  session?: SshSession;
  /**
   * The host's record (host-record.ts): read with the table, and written by the apply itself on its
   * own connection before the table's lock is released, so no other apply comes between the rules
   * and the record of them. `policy` is the network's policy the record keeps (encodePolicy); a
   * no-op apply updates only that when it changed. @default no record is read or written
   */
  record?: { dir: string; policy?: string };
}

export interface ApplyResult {
  host: string;
  /** False when the host already carried the desired hash and nothing was written. */
  changed: boolean;
  hash: string;
  /** The rules as listed on the host after the apply (for drift comparison later). */
  liveText: string;
  /**
   * How a changing apply sent the rules: `incremental` only the difference from the host's record
   * of the last apply, `full` the whole ruleset. Absent when nothing was written.
   */
  mode?: "full" | "incremental";
  /**
   * Bytes the apply sent from its check to its confirm (commands and stdin: check, rollback script,
   * live steps). Not counted: the lock and the read before, and the record written after, which are
   * the same in either mode. Absent when nothing was written.
   */
  bytesSent?: number;
  /**
   * What makes the rules less effective than they look, one line each starting with the host's
   * name: a bridge with ports while `net.bridge.bridge-nf-call-iptables` / `…-ip6tables` is not 1
   * (bridged traffic bypasses the forward hook). Absent when there is nothing to say.
   */
  warnings?: string[];
  /** The host's MASQUERADE / SNAT rules in POSTROUTING (nat-check.ts), read with the rules. Absent when there are none. */
  nat?: NatRule[];
  /** The host's IPv4 FORWARD policy and DOCKER-USER accepts (forward-check.ts), read with the rules. */
  forward?: ForwardReport;
}

export interface HostReadResult {
  present: boolean;
  /** The hash stored with the rules, when present. */
  hash?: string;
  /** The rules as the host lists them (normalised: counters zeroed). */
  text?: string;
  /** As ApplyResult.warnings, read in the same command. */
  warnings?: string[];
  /** As ApplyResult.nat. */
  nat?: NatRule[];
  /** As ApplyResult.forward. */
  forward?: ForwardReport;
  /**
   * iptables: the FORWARD rule that runs before the network's hook (dockerd puts its DOCKER-USER
   * jump in front when it starts). A plain apply puts the hook back in front.
   */
  hookBehind?: string;
  /** The host's record, when read with a record folder and the host has one. */
  record?: HostRecord;
}

export interface DeleteOptions extends Pick<HostApplyOptions, 'stateDir'> {
  /** The record's folder (host-record.ts): its files are removed with the rules. @default none removed */
  recordDir?: string;
}

export interface DeleteResult {
  host: string;
  /** False when there was nothing to delete. */
  deleted: boolean;
  /** As ApplyResult.warnings (e.g. a stale timer record that was removed). */
  warnings?: string[];
}
