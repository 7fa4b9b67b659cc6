/**
 * What the model puts on each host: its ruleset (rendered once for all hosts), the rules text a
 * user reviews, the same in `netpol plan` and `pulumi preview --diff`, and the policy its record keeps.
 */
import { compile } from "../../compile";
import type { Model } from "../../model/model";
import { Renderer } from "../../render";
import { HostRuleset, rulesText } from "../../ruleset";

export { rulesText };
import { encodePolicy } from "./policy-record";
import { MasqueradeScope, masqueradeScope } from "./masquerade";

export interface DesiredHost {
  name: string;
  ruleset: HostRuleset;
  /** rulesText(ruleset) */
  text: string;
  /** The network's policy, for the host's record (encodePolicy; the same for every host). @default none recorded */
  policy?: string;
  /** What the host's source-NAT rules are judged against on every read (masquerade.ts); none: not judged. */
  masquerade?: MasqueradeScope;
}

/** The model's hosts (or those named in `only`, in the model's order) with what each must carry. */
export function desiredHosts(model: Model, only?: readonly string[]): DesiredHost[] {
  const names = (model.hosts ?? []).map((h) => h.name).filter((n) => only === undefined || only.includes(n));
  if (names.length === 0) return [];
  const policySet = compile(model);
  const renderer = new Renderer(policySet);
  const policy = encodePolicy(policySet);
  return names.map((name) => {
    const ruleset = renderer.renderHost(name);
    return { name, ruleset, text: rulesText(ruleset), policy, masquerade: masqueradeScope(model, name) };
  });
}
