/** Calico profiles and selector policies → the `calico` layer. (Being written.) */
import { CompileContext } from "./context";
import { Layer } from "./ir";

export function compileCalico(ctx: CompileContext): Layer | undefined {
  if ((ctx.model.profiles ?? []).length === 0 && (ctx.model.policies ?? []).length === 0) return undefined;
  throw new Error("Calico compilation is not implemented yet");
}
