/**
 * What the hosts target does to one host, behind one small interface: the SSH appliers (nftables,
 * iptables) and the record the project keeps on each host. Tests that run without the namespace
 * lab construct a driver of their own; nothing else replaces this one.
 *
 * The record, in the host's state folder: the rules text the last apply sent (so a plan shows the
 * lines that change), the host's listing right after it (so status tells a hand edit from our
 * own rules), and the network's policy that apply enforced (so a plan says who may now reach
 * whom compared with it; see policy-record.ts). Every door writes and reads the same record, so what one door applies, the other
 * sees as in sync.
 */
import { shortHash } from "../../ir/builder";
import type { HostRuleset } from "../../ruleset";
import { applyHost, deleteHost, readHost } from "../../targets/ssh/hosts";
import type { HostApplyOptions, ApplyResult, DeleteResult, HostReadResult } from "../../targets/ssh/apply-options";
import { DEFAULT_STATE_DIR } from "../../targets/ssh/rollback";
import type { SshTarget } from "../../targets/ssh/connect";
import { runOnHost } from "../../targets/ssh/session";

/** What the last apply left on a host. */
export interface HostRecord {
  /** The rules text that apply sent (rulesText). */
  rendered: string;
  /** The host's listing right after that apply. */
  live: string;
  /** The network's policy of the last apply (encodePolicy); absent in records of older versions. */
  policy?: string;
}

export interface HostDriver {
  /** Applies under the table's lock, and calls `options.whileLocked` with the result before releasing it. */
  apply(target: SshTarget, ruleset: HostRuleset, options: HostApplyOptions): Promise<ApplyResult>;
  read(target: SshTarget, host: string, backend: HostRuleset["backend"], table: string): Promise<HostReadResult>;
  delete(target: SshTarget, host: string, backend: HostRuleset["backend"], table: string, options: Pick<HostApplyOptions, "stateDir">): Promise<DeleteResult>;
  readRecord(target: SshTarget, host: string, table: string): Promise<HostRecord | undefined>;
  writeRecord(target: SshTarget, host: string, table: string, record: HostRecord): Promise<void>;
  clearRecord(target: SshTarget, host: string, table: string): Promise<void>;
}

/**
 * The record folder of a host, one per host name: hosts that share a filesystem (containers of one
 * machine, the namespace lab) never share records. (The table's lock and rollback timer are kept
 * per table and network namespace instead, see targets/ssh/table-place.ts.)
 */
export function stateDirFor(host: string): string {
  return `${DEFAULT_STATE_DIR}/h_${shortHash(host, 10)}`;
}

const fileOf = (host: string, table: string, kind: "rendered" | "live" | "policy") => `${stateDirFor(host)}/${table}.${kind}`;

/** Separate the texts of a record on stdin and stdout; the renderer never emits them. */
const MARKER = "--- netpol live listing ---";
const POLICY_MARKER = "--- netpol policy ---";

export const sshDriver: HostDriver = {
  apply: (target, ruleset, options) => applyHost(target, ruleset, options),
  read: (target, host, backend, table) => readHost(target, host, backend, table),
  delete: (target, host, backend, table, options) => deleteHost(target, host, backend, table, options),

  async readRecord(target, host, table) {
    // The files in one command: the rendered text, the marker, the listing, the policy marker, the policy.
    const command = `if [ -e ${fileOf(host, table, "rendered")} ]; then cat ${fileOf(host, table, "rendered")}; echo '${MARKER}'; cat ${fileOf(host, table, "live")} 2>/dev/null; echo '${POLICY_MARKER}'; cat ${fileOf(host, table, "policy")} 2>/dev/null; fi`;
    const r = await runOnHost(target, command, undefined, { step: "read record", name: host });
    const at = r.stdout.indexOf(`\n${MARKER}\n`);
    if (r.code !== 0 || at < 0) return undefined;
    const rest = r.stdout.slice(at + MARKER.length + 2);
    const p = rest.lastIndexOf(`${POLICY_MARKER}\n`);
    const live = p < 0 ? rest : rest.slice(0, p);
    const policy = p < 0 ? "" : rest.slice(p + POLICY_MARKER.length + 1).trim();
    return { rendered: r.stdout.slice(0, at + 1), live, ...(policy !== "" ? { policy } : {}) };
  },

  async writeRecord(target, host, table, record) {
    const files = `-v r=${fileOf(host, table, "rendered")} -v l=${fileOf(host, table, "live")} -v p=${fileOf(host, table, "policy")}`;
    const command = `mkdir -p ${stateDirFor(host)} && rm -f ${fileOf(host, table, "policy")} && awk ${files} '$0=="${MARKER}"{f=1;next} $0=="${POLICY_MARKER}"{f=2;next} {print > (f == 2 ? p : f ? l : r)}'`;
    const policy = record.policy !== undefined ? `${POLICY_MARKER}\n${record.policy}\n` : "";
    await runOnHost(target, command, `${record.rendered.trimEnd()}\n${MARKER}\n${record.live.trimEnd()}\n${policy}`, { step: "save record", name: host });
  },

  async clearRecord(target, host, table) {
    await runOnHost(target, `rm -f ${fileOf(host, table, "rendered")} ${fileOf(host, table, "live")} ${fileOf(host, table, "policy")}`, undefined, { step: "remove record", name: host });
  },
};
