/**
 * Unions that pick their branch from what the input writes, then report that branch's errors.
 *
 * zod's `z.union` tries every branch and, when all fail, leaves the caller to guess which one the
 * user meant; the guess ("the branch that got furthest") is often wrong: `within: stacks` came out
 * as "within: unknown field", because the from/to branch, whose fields are all optional, only
 * objected to `within`. Here the branch is chosen first — by the key that names the rule kind
 * (`within`, `between`, `from`/`to`/`ports`), by the value's type (a port number or a port string),
 * or by `kind`/`apiVersion` — and only that branch parses, so its errors sit at the path of the
 * real mistake.
 */
import { addIssueToContext, INVALID, IssueData, ParseInput, ParseReturnType, ZodIssueCode, ZodType, ZodTypeAny, ZodTypeDef } from "zod";
import { suggest } from "./suggest";

/** The branch an input goes to, or what is wrong with the input before any branch can read it. */
export type Pick = { branch: ZodTypeAny } | { issues: IssueData[] };

export interface PickedUnionDef extends ZodTypeDef {
  /** Every branch, so error reporting can list the fields they know. */
  options: readonly ZodTypeAny[];
  pick(data: unknown): Pick;
}

export class PickedUnion<Output, Input> extends ZodType<Output, PickedUnionDef, Input> {
  _parse(input: ParseInput): ParseReturnType<Output> {
    const { ctx } = this._processInputParams(input);
    const choice = this._def.pick(ctx.data);
    if ("issues" in choice) {
      for (const issue of choice.issues) addIssueToContext(ctx, issue);
      return INVALID;
    }
    const args = { data: ctx.data, path: ctx.path, parent: ctx };
    return (ctx.common.async ? choice.branch._parseAsync(args) : choice.branch._parseSync(args)) as ParseReturnType<Output>;
  }

  get options(): readonly ZodTypeAny[] {
    return this._def.options;
  }
}

type Union<T extends readonly ZodTypeAny[]> = PickedUnion<T[number]["_output"], T[number]["_input"]>;

/** A union with a pick function of its own (see byKey, byType for the common cases). */
export function pickedUnion<T extends readonly [ZodTypeAny, ...ZodTypeAny[]]>(options: T, pick: (data: unknown) => Pick): Union<T> {
  return new PickedUnion({ options, pick });
}

/** How a value's type is named in messages: `string`, `number`, `array`, `null`, `object`. */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

const quoted = (keys: readonly string[]) => keys.map((k) => JSON.stringify(k)).join("/");

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface KeyedBranch {
  /** The keys that say an object means this branch (any one of them). */
  keys: readonly string[];
  schema: ZodTypeAny;
}

export interface KeyedUnionOptions {
  /** What the object is, for messages: `a rule`, `between`. */
  noun: string;
  /** The branch for an object that writes none of the keys (its fields are all optional). */
  fallback?: ZodTypeAny;
}

/**
 * Objects whose kind is told by which key they write: a Rancher rule by `within`, `between` or
 * `from`/`to`/`ports`; `between` by `groupBy` or `selector`. Keys of two kinds in one object are
 * one error, at the second key; an object with none goes to `fallback` or, without one, gets
 * "needs one of …" (after a did-you-mean for a key that is a typo of one of them).
 */
export function byKey<T extends readonly [ZodTypeAny, ...ZodTypeAny[]]>(options: T, branches: readonly KeyedBranch[], how: KeyedUnionOptions): Union<T> {
  const kinds = branches.map((b) => quoted(b.keys));
  const oneOf = kinds.length === 2 ? `${kinds[0]} or ${kinds[1]}` : `${kinds.slice(0, -1).join(", ")} or ${kinds[kinds.length - 1]}`;
  const allKeys = [...new Set(options.flatMap(objectKeys))];
  return pickedUnion(options, (data) => {
    if (!isPlainObject(data)) {
      return { issues: [{ code: ZodIssueCode.custom, message: `must be an object with ${oneOf}, not ${typeName(data)}` }] };
    }
    const present = branches.map((b) => ({ b, key: b.keys.find((k) => k in data) })).filter((x) => x.key !== undefined);
    if (present.length === 1) return { branch: present[0].b.schema };
    if (present.length > 1) {
      const [first, second] = present;
      return {
        issues: [{
          code: ZodIssueCode.custom, path: [second.key as string],
          message: `cannot be combined with ${JSON.stringify(first.key)} in one ${how.noun.replace(/^an? /, "")}: ${how.noun} has ${oneOf}; split it in two`,
        }],
      };
    }
    if (how.fallback) return { branch: how.fallback };
    const unknown = Object.keys(data).filter((k) => !allKeys.includes(k));
    const typo = unknown.filter((k) => suggest(k, branches.flatMap((b) => b.keys)) !== undefined);
    const needs: IssueData = { code: ZodIssueCode.custom, message: `needs ${oneOf}` };
    const unknownIssue = (keys: string[]): IssueData => ({ code: ZodIssueCode.unrecognized_keys, keys });
    if (typo.length > 0) return { issues: [unknownIssue(unknown)] };
    return { issues: unknown.length > 0 ? [needs, unknownIssue(unknown)] : [needs] };
  });
}

/**
 * Values told apart by their JavaScript type: a port as a number or as a `"80/tcp"` string, an
 * agent as `true` or a socket path. `expected` says what is allowed, for a value of another type.
 */
export function byType<T extends readonly [ZodTypeAny, ...ZodTypeAny[]]>(options: T, branchOf: Partial<Record<"string" | "number" | "boolean", T[number]>>, expected: string): Union<T> {
  return pickedUnion(options, (data) => {
    const t = typeof data;
    const branch = t === "string" || t === "number" || t === "boolean" ? branchOf[t] : undefined;
    if (branch !== undefined) return { branch };
    return { issues: [{ code: ZodIssueCode.custom, message: data === undefined ? `is required (${expected})` : `must be ${expected}, not ${typeName(data)}` }] };
  });
}

/** The field names of an object schema (through optional, effects, lazy; none for other types). */
export function objectKeys(schema: ZodTypeAny): string[] {
  const def = schema._def as { typeName?: string; shape?: () => Record<string, unknown>; innerType?: ZodTypeAny; schema?: ZodTypeAny; getter?: () => ZodTypeAny };
  switch (def.typeName) {
    case "ZodObject": return Object.keys(def.shape ? def.shape() : {});
    case "ZodOptional":
    case "ZodNullable":
    case "ZodDefault": return def.innerType ? objectKeys(def.innerType) : [];
    case "ZodEffects": return def.schema ? objectKeys(def.schema) : [];
    case "ZodLazy": return def.getter ? objectKeys(def.getter()) : [];
    default: return schema instanceof PickedUnion ? [...new Set(schema.options.flatMap(objectKeys))] : [];
  }
}
