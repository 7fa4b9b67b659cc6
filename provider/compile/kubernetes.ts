/** Kubernetes NetworkPolicy → the `kubernetes` layer. (Being written.) */
import { CompileContext } from "./context";
import { Layer } from "./ir";

export function compileKubernetes(ctx: CompileContext): Layer | undefined {
  const isolated = (ctx.model.namespaces ?? []).some((n) => n.isolation === "DefaultDeny");
  if ((ctx.model.networkPolicies ?? []).length === 0 && !isolated) return undefined;
  throw new Error("Kubernetes compilation is not implemented yet");
}
