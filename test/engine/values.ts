/**
 * Property values as the engine carries them: plain JSON, with secrets wrapped in the SDK's secret
 * signature object and unknowns (preview) as the sentinel string.
 */

export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type PropertyMap = Record<string, Json>;

export interface SecretValue {
  [SECRET_SIG_KEY]: typeof SECRET_SIG;
  value: Json;
}

export function isObject(v: unknown): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isSecret(v: unknown): v is SecretValue {
  return isObject(v) && v[SECRET_SIG_KEY] === SECRET_SIG;
}

export function makeSecret(v: Json): Json {
  return isSecret(v) ? v : { [SECRET_SIG_KEY]: SECRET_SIG, value: v };
}

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

/** The value with every secret wrapper removed (what a provider that does not accept secrets sees). */
export function reveal(v: Json): Json {
  if (isSecret(v)) return reveal(v.value);
  if (Array.isArray(v)) return v.map(reveal);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  return v;
}

export function revealMap(m: PropertyMap): PropertyMap {
  return reveal(m) as PropertyMap;
}

/**
 * Marks in `outs` what was secret in `ins`, the way the engine annotates provider results: a key
 * whose input was secret becomes secret as a whole; objects and arrays are followed element-wise.
 */
export function annotateSecrets(outs: Json, ins: Json): Json {
  if (isSecret(ins)) return makeSecret(reveal(outs));
  if (isSecret(outs)) return outs;
  if (Array.isArray(outs) && Array.isArray(ins)) return outs.map((o, i) => (i < ins.length ? annotateSecrets(o, ins[i]) : o));
  if (isObject(outs) && isObject(ins)) {
    return Object.fromEntries(Object.entries(outs).map(([k, o]) => [k, k in ins ? annotateSecrets(o, ins[k]) : o]));
  }
  return outs;
}

export function annotateMap(outs: PropertyMap, ins: PropertyMap): PropertyMap {
  return annotateSecrets(outs, ins) as PropertyMap;
}

/** Every string in the value that is a secret (to check output for leaks). */
export function secretStrings(v: Json, inSecret = false): string[] {
  if (isSecret(v)) return secretStrings(v.value, true);
  if (Array.isArray(v)) return v.flatMap((x) => secretStrings(x, inSecret));
  if (isObject(v)) return Object.values(v).flatMap((x) => secretStrings(x, inSecret));
  return inSecret && typeof v === "string" ? [v] : [];
}

export function containsUnknown(v: Json): boolean {
  if (isUnknown(v)) return true;
  if (isSecret(v)) return containsUnknown(v.value);
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isObject(v)) return Object.values(v).some(containsUnknown);
  return false;
}

/** Stable JSON (sorted keys), for comparisons. */
export function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  return JSON.stringify(v);
}

export function sameValue(a: Json | undefined, b: Json | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonical(a) === canonical(b);
}
