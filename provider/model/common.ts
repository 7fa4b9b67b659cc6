/** zod building blocks shared by the inventory and the three dialect schemas. */
import { z } from "zod";
import { isLabelKey, isLabelValue } from "./selectors";
import { parseAddress, parseCidr } from "./net";

const SAFE_TEXT = /^[^\x00-\x1f\x7f`$\\;|&<>'"]*$/;

/** A name that may appear in reports and plans: printable, no shell metacharacters, no newlines. */
export const safeName = (what: string, max = 253) =>
  z.string().min(1, `${what} must not be empty`).max(max, `${what} is longer than ${max} characters`)
    .regex(SAFE_TEXT, `${what} must not contain control characters, quotes or shell metacharacters (\` $ \\ ; | & < >)`);

/** An identifier's characters (endpoint, stack, service, link names); shared with the endpoints' fast path. */
export const IDENTIFIER = /^[A-Za-z0-9]([A-Za-z0-9_.\/-]{0,251}[A-Za-z0-9])?$/;

export const identifier = (what: string) =>
  z.string().regex(IDENTIFIER,
    `${what} must be 1-253 characters of letters, digits, "_", ".", "/" and "-", starting and ending with a letter or digit`);

export const labelKey = z.string().refine(isLabelKey, (k) => ({
  message: `"${k}" is not a valid label key (an optional DNS prefix and "/", then up to 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric)`,
}));

export const labelValue = z.string().refine(isLabelValue, (v) => ({
  message: `"${v}" is not a valid label value (up to 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric, or empty)`,
}));

export const labels = z.record(z.string(), z.string()).superRefine((map, ctx) => {
  for (const [k, v] of Object.entries(map)) {
    if (!isLabelKey(k)) ctx.addIssue({ code: "custom", path: [k], message: `"${k}" is not a valid label key` });
    else if (!isLabelValue(v)) ctx.addIssue({ code: "custom", path: [k], message: `"${v}" is not a valid label value (up to 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric)` });
  }
});

export const ipAddress = z.string().refine((s) => parseAddress(s) !== undefined, (s) => ({
  message: `"${s}" is not an IPv4 or IPv6 address`,
}));

export const cidr = z.string().superRefine((s, ctx) => {
  const r = parseCidr(s);
  if (!r.ok) ctx.addIssue({ code: "custom", message: r.reason });
});

export const portNumber = z.number({ invalid_type_error: "a port must be a number from 1 to 65535" })
  .int("a port must be a whole number").min(1, "a port must be from 1 to 65535").max(65535, "a port must be from 1 to 65535");

export const PORT_NAME_RULE = "a named port must be 1-15 lowercase letters, digits and '-', with at least one letter and no '--'";

/** An IANA service name, as the API server checks a named port (no `--` either). */
export const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;
export const portName = z.string().regex(PORT_NAME, PORT_NAME_RULE);

export const protocolName = z.string().transform((s, ctx): ProtocolName => {
  const up = s.toUpperCase();
  if (up === "TCP" || up === "UDP" || up === "SCTP") return up;
  ctx.addIssue({ code: "custom", message: `protocol "${s}" is not one of TCP, UDP, SCTP` });
  return z.NEVER;
});
export type ProtocolName = "TCP" | "UDP" | "SCTP";

/** A plain object (not null, not an array): what JSON objects parse to. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
