/**
 * What every read of a host's state reports beside the project's own rules, in the same command:
 * its bridges (bridge-check.ts, turned into warnings here) and its source-NAT rules (nat-check.ts,
 * judged by the deploy layer against the endpoints). Both backends put READ_REPORT_SCRIPT in front
 * of their own read command and split its output with splitReadReport.
 */
import { BRIDGE_REPORT_SCRIPT, splitBridgeReport, warningsField } from './bridge-check';
import { NAT_REPORT_SCRIPT, NatRule, splitNatReport } from './nat-check';

export const READ_REPORT_SCRIPT = `${BRIDGE_REPORT_SCRIPT}\n${NAT_REPORT_SCRIPT}`;

/** The fields a read result carries from the report: absent when there is nothing in them. */
export interface ReadReport {
  /** Bridge warnings, each starting with the host's name. */
  warnings?: string[];
  /** The host's MASQUERADE / SNAT rules in POSTROUTING. */
  nat?: NatRule[];
}

/** The report and the rest of the output (what the read command itself printed). */
export function splitReadReport(stdout: string, host: string, step: string): { report: ReadReport; rest: string } {
  const bridges = splitBridgeReport(stdout, host, step);
  const { nat, rest } = splitNatReport(bridges.rest, host, step);
  return { report: { ...warningsField(host, bridges.report), ...(nat.length > 0 ? { nat } : {}) }, rest };
}
