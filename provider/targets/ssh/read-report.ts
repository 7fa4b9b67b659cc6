/**
 * What every read of a host's state reports beside the project's own rules, in the same command:
 * its bridges (bridge-check.ts, turned into warnings here), its source-NAT rules (nat-check.ts) and
 * Docker's FORWARD policy (forward-check.ts), the last two judged by the deploy layer against the
 * endpoints. Both backends put READ_REPORT_SCRIPT in front
 * of their own read command and split its output with splitReadReport.
 */
import { BRIDGE_REPORT_SCRIPT, splitBridgeReport, warningsField } from './bridge-check';
import { FORWARD_REPORT_SCRIPT, ForwardReport, splitForwardReport } from './forward-check';
import { NAT_REPORT_SCRIPT, NatRule, splitNatReport } from './nat-check';

export const READ_REPORT_SCRIPT = `${BRIDGE_REPORT_SCRIPT}\n${NAT_REPORT_SCRIPT}\n${FORWARD_REPORT_SCRIPT}`;

/** The fields a read result carries from the report: absent when there is nothing in them. */
export interface ReadReport {
  /** Bridge warnings, each starting with the host's name. */
  warnings?: string[];
  /** The host's MASQUERADE / SNAT rules in POSTROUTING. */
  nat?: NatRule[];
  /** The IPv4 FORWARD policy and Docker's DOCKER-USER accepts. */
  forward?: ForwardReport;
}

/** The report and the rest of the output (what the read command itself printed). */
export function splitReadReport(stdout: string, host: string, step: string): { report: ReadReport; rest: string } {
  const bridges = splitBridgeReport(stdout, host, step);
  const nats = splitNatReport(bridges.rest, host, step);
  const { forward, rest } = splitForwardReport(nats.rest, host, step);
  return { report: { ...warningsField(host, bridges.report), ...(nats.nat.length > 0 ? { nat: nats.nat } : {}), ...(forward ? { forward } : {}) }, rest };
}

/** The report fields of a read, with the table lock's warnings (stale timer records) in front. */
export function reportWithLock(read: ReadReport, stale: readonly string[]): ReadReport {
  const warnings = [...stale, ...(read.warnings ?? [])];
  return { ...(warnings.length > 0 ? { warnings } : {}), ...(read.nat ? { nat: read.nat } : {}), ...(read.forward ? { forward: read.forward } : {}) };
}
