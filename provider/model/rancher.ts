/**
 * Rancher 1.x network policy, exactly as the network resource of the v2-beta API writes it:
 * `defaultPolicyAction` plus an ordered `policy` array of rules.
 */
import { z } from "zod";
import { parseStringSelector, SelectorSyntaxError } from "./selectors";
import { labelKey, portNumber } from "./common";
import { byKey, byType } from "./picked-union";

export const RancherAction = z.enum(["allow", "deny"]);

const stringSelector = z.string().max(4096).superRefine((s, ctx) => {
  try {
    parseStringSelector(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: e instanceof SelectorSyntaxError ? e.message : String(e) });
  }
});

const PORT_SYNTAX = 'N, "N/tcp", "N/udp", "N/sctp" or "N-M/tcp" with 1 <= N <= M <= 65535';

const portText = z.string().superRefine((s, ctx) => {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(s);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m && m[2] ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || hi < lo) {
    const colon = /^(\d{1,5}):(\d{1,5})(\/\w+)?$/.exec(s);
    const hint = colon ? ` (did you mean "${colon[1]}-${colon[2]}${colon[3] ?? "/tcp"}"?)` : "";
    ctx.addIssue({ code: "custom", message: `"${s}" is not a port: use ${PORT_SYNTAX}${hint}` });
  }
});

/** `80`, `"80/tcp"`, `"8000-8080/udp"`; a bare number means TCP. */
export const RancherPort = byType([portNumber, portText] as const, { number: portNumber, string: portText }, `a port: ${PORT_SYNTAX}`);

/** `from: { selector: "tier = web" }`; a bare string gets the fix in its message. */
const selectorRef = (field: "from" | "to") => z.object({ selector: stringSelector }, {
  errorMap: (issue, ctx) => ({
    message: issue.code === "invalid_type" && typeof ctx.data === "string"
      ? `a selector goes under "selector": write ${field}: { selector: ${JSON.stringify(ctx.data)} }`
      : ctx.defaultError,
  }),
}).strict();

const within = z.object({
  within: z.enum(["stack", "service", "linked"]),
  action: RancherAction,
}).strict();

const groupBy = z.object({ groupBy: labelKey }).strict();
const selector = z.object({ selector: stringSelector }).strict();
const between = z.object({
  between: byKey([groupBy, selector] as const, [{ keys: ["groupBy"], schema: groupBy }, { keys: ["selector"], schema: selector }], { noun: "between" }),
  action: RancherAction,
}).strict();

const fromTo = z.object({
  from: selectorRef("from").optional(),
  to: selectorRef("to").optional(),
  ports: z.array(RancherPort).optional(),
  action: RancherAction,
}).strict();

/** A rule is told by the key it writes: `within`, `between`, or `from` / `to` / `ports` (or only `action`: every source). */
export const RancherRule = byKey([within, between, fromTo] as const, [
  { keys: ["within"], schema: within },
  { keys: ["between"], schema: between },
  { keys: ["from", "to", "ports"], schema: fromTo },
], { noun: "a rule", fallback: fromTo });
export type RancherRule = z.infer<typeof RancherRule>;

export const RancherNetwork = z.object({
  /** What happens to traffic no rule matches. @default "allow" (Rancher's default) */
  defaultPolicyAction: RancherAction.optional(),
  policy: z.array(RancherRule).optional(),
}).strict();
export type RancherNetwork = z.infer<typeof RancherNetwork>;
