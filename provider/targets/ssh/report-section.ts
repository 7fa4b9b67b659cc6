/**
 * A report printed between two marker lines inside a read command's output (nat-check.ts,
 * forward-check.ts): its lines, and the output without it.
 */
import { HostError } from './host-error';

export interface ReportSection {
  lines: string[];
  /** The output before and after the section, the markers removed. */
  rest: string;
}

/** The lines between `begin` and `end`; a missing marker fails the step, naming the check and where to look. */
export function reportSection(stdout: string, markers: { begin: string; end: string }, failure: { host: string; step: string; check: string; hint: string }): ReportSection {
  const lines = stdout.split('\n');
  const begin = lines.indexOf(markers.begin);
  const end = begin === -1 ? -1 : lines.indexOf(markers.end, begin);
  if (begin === -1 || end === -1) {
    throw new HostError({ host: failure.host, step: failure.step, cause: `unexpected output of the ${failure.check}: no "${begin === -1 ? markers.begin : markers.end}" line`, hint: failure.hint });
  }
  return { lines: lines.slice(begin + 1, end), rest: [...lines.slice(0, begin), ...lines.slice(end + 1)].join('\n') };
}
