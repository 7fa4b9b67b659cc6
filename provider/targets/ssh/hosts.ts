/**
 * The SSH target's entry points for one host: apply, read back (drift is judged in
 * provider/deploy/hosts/sync.ts), delete. Dispatches on the ruleset's backend; the fan-out over
 * many hosts is the deploy layer's (provider/deploy/hosts/target.ts).
 */
import { HostApplyOptions, ApplyResult, DeleteOptions, DeleteResult, HostReadResult } from './apply-options';
import { applyIptables, deleteIptables, readIptables } from './iptables-apply';
import { applyNftables, deleteNftables, readNftables } from './nftables-apply';
import { HostRuleset } from '../../ruleset';
import { SshTarget } from './connect';

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

/** `recordDir`: the host's record folder (host-record.ts), read in the same command. @default no record read */
export function readHost(target: SshTarget, host: string, backend: HostRuleset['backend'], table: string, recordDir?: string): Promise<HostReadResult> {
  return backend === 'iptables' ? readIptables(target, host, table, recordDir) : readNftables(target, host, table, recordDir);
}

export function deleteHost(target: SshTarget, host: string, backend: HostRuleset['backend'], table: string, options: DeleteOptions = {}): Promise<DeleteResult> {
  return backend === 'iptables' ? deleteIptables(target, host, table, options) : deleteNftables(target, host, table, options);
}
