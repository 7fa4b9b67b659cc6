/**
 * The SSH target's entry points for many hosts: apply in parallel with a bounded pool, read back
 * (drift is judged in provider/deploy/hosts/sync.ts), delete. Dispatches on the ruleset's backend.
 */
import { HostApplyOptions, ApplyResult, DeleteResult, HostReadResult } from './apply-options';
import { HostError, describeCause } from './host-error';
import { applyIptables, deleteIptables, readIptables } from './iptables-apply';
import { applyNftables, deleteNftables, readNftables } from './nftables-apply';
import { mapBounded } from '../pool';
import { HostRuleset } from '../../ruleset';
import { SshTarget } from './connect';

export interface HostApply {
  target: SshTarget;
  ruleset: HostRuleset;
}

export interface ApplyHostsReport {
  /** Hosts that now carry their ruleset (changed or already up to date). */
  applied: ApplyResult[];
  /** One error per failed host. */
  failures: HostError[];
  /** Set when any host failed: one message listing every failed host and its cause. */
  error?: HostError;
}

export function applyHost(target: SshTarget, ruleset: HostRuleset, options: HostApplyOptions = {}): Promise<ApplyResult> {
  switch (ruleset.backend) {
    case 'nftables':
      return applyNftables(target, ruleset, options);
    case 'iptables':
      return applyIptables(target, ruleset, options);
    default: {
      const never: never = ruleset.backend;
      throw new Error(`unknown backend ${String(never)}`);
    }
  }
}

function asHostError(err: Error, host: string): HostError {
  return err instanceof HostError ? err : new HostError({ host, step: 'apply', cause: describeCause(err) });
}

/** Applies every host's ruleset in parallel; successful hosts keep their rules even when others fail. */
export async function applyHosts(list: readonly HostApply[], options: HostApplyOptions & { concurrency?: number } = {}): Promise<ApplyHostsReport> {
  const settled = await mapBounded(list, ({ target, ruleset }) => applyHost(target, ruleset, options), { concurrency: options.concurrency });
  const applied: ApplyResult[] = [];
  const failures: HostError[] = [];
  settled.forEach((s, i) => (s.ok ? applied.push(s.value) : failures.push(asHostError(s.error, list[i].ruleset.host))));
  return { applied, failures, error: failures.length > 0 ? HostError.aggregate(failures, list.length) : undefined };
}

export function readHost(target: SshTarget, host: string, backend: HostRuleset['backend'], table: string): Promise<HostReadResult> {
  return backend === 'iptables' ? readIptables(target, host, table) : readNftables(target, host, table);
}

export function deleteHost(target: SshTarget, host: string, backend: HostRuleset['backend'], table: string, options: Pick<HostApplyOptions, 'stateDir'> = {}): Promise<DeleteResult> {
  return backend === 'iptables' ? deleteIptables(target, host, table, options) : deleteNftables(target, host, table, options);
}
