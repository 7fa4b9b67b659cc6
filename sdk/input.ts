/** Input types of the resources, derived from the provider's zod schemas (no hand-written copies). */
import * as pulumi from "@pulumi/pulumi";

/** `T` where every value, at any depth, may also be a `pulumi.Input` (an Output, a Promise). */
export type DeepInput<T> =
  T extends string | number | boolean | null | undefined ? pulumi.Input<T>
  : T extends readonly (infer E)[] ? pulumi.Input<DeepInput<E>[]>
  : T extends object ? pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>
  : pulumi.Input<T>;

/** An object of inputs whose own keys are plain (so classes can read them) and values deep inputs. */
export type InputsOf<T> = { [K in keyof T]: DeepInput<T[K]> };

/** The keys only one of `A` and `B` has (`never` when they have the same keys). */
export type OnlyInOne<A, B> = Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>;

/** Compiles only for `never`: an args interface that spells out a document's fields checks itself with `NoKeys<OnlyInOne<…>>`. */
export type NoKeys<K extends never> = K;
