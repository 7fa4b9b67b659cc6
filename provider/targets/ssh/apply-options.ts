/** Options and results shared by the nftables and iptables appliers. */

export interface ApplyHooks {
  /** Test-only: runs after the new rules are live and before the confirming connection is opened. */
  afterApplyBeforeConfirm?: () => Promise<void>;
}

export interface ApplyOptions {
  /** Seconds after which the host restores the previous rules unless the apply was confirmed. @default 20 */
  rollbackTimerSec?: number;
  /** Where rollback files live on the host. @default '/var/lib/pulumi-netpolicy' */
  stateDir?: string;
  /** Apply even when the host already carries the desired hash (repairs drift). @default false */
  force?: boolean;
  /** After a failed confirm, wait for the timer and check that the host restored itself. @default true */
  waitForRollback?: boolean;
  hooks?: ApplyHooks;
}

export interface ApplyResult {
  host: string;
  /** False when the host already carried the desired hash and nothing was written. */
  changed: boolean;
  hash: string;
  /** The rules as listed on the host after the apply (for drift comparison later). */
  liveText: string;
}

export interface HostReadResult {
  present: boolean;
  /** The hash stored with the rules, when present. */
  hash?: string;
  /** The rules as the host lists them (normalised: counters zeroed). */
  text?: string;
}

export interface DeleteResult {
  host: string;
  /** False when there was nothing to delete. */
  deleted: boolean;
}
