/**
 * Rancher 1.x network policy, exactly as the network resource of the v2-beta API writes it:
 * `defaultPolicyAction` plus an ordered `policy` array of rules.
 */
import { z } from "zod";
import { parseStringSelector, SelectorSyntaxError } from "./selectors";
import { labelKey } from "./common";

export const RancherAction = z.enum(["allow", "deny"], {
  errorMap: () => ({ message: 'action must be "allow" or "deny"' }),
});

const stringSelector = z.string().max(4096).superRefine((s, ctx) => {
  try {
    parseStringSelector(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: e instanceof SelectorSyntaxError ? e.message : String(e) });
  }
});

/** `80`, `"80/tcp"`, `"8000-8080/udp"`; a bare number means TCP. */
export const RancherPort = z.union([
  z.number().int().min(1).max(65535),
  z.string().superRefine((s, ctx) => {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(s);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m && m[2] ? Number(m[2]) : lo;
    if (!m || lo < 1 || hi > 65535 || hi < lo) {
      ctx.addIssue({ code: "custom", message: `"${s}" is not a port: use N, "N/tcp", "N/udp" or "N-M/tcp" with 1 <= N <= M <= 65535` });
    }
  }),
]);

const within = z.object({ within: z.enum(["stack", "service", "linked"]), action: RancherAction }).strict();
const between = z.object({
  between: z.union([
    z.object({ groupBy: labelKey }).strict(),
    z.object({ selector: stringSelector }).strict(),
  ]),
  action: RancherAction,
}).strict();
const fromTo = z.object({
  from: z.object({ selector: stringSelector }).strict().optional(),
  to: z.object({ selector: stringSelector }).strict().optional(),
  ports: z.array(RancherPort).optional(),
  action: RancherAction,
}).strict();

export const RancherRule = z.union([within, between, fromTo]);
export type RancherRule = z.infer<typeof RancherRule>;

export const RancherNetwork = z.object({
  /** What happens to traffic no rule matches. @default "allow" (Rancher's default) */
  defaultPolicyAction: RancherAction.optional(),
  policy: z.array(RancherRule).optional(),
}).strict();
export type RancherNetwork = z.infer<typeof RancherNetwork>;
