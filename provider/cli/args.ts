/** A small, strict argument parser: unknown options and missing values are usage errors. */
import { suggest } from "../model/suggest";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface OptionSpec {
  /** Takes a value (`--probe tcp/80` or `--probe=tcp/80`); otherwise a flag. */
  value?: boolean;
  /** May be given more than once. */
  repeat?: boolean;
}

export interface ParsedArgs {
  positional: string[];
  options: Record<string, string[]>;
  flags: Set<string>;
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const out: ParsedArgs = { positional: [], options: {}, flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") { out.positional.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith("-") || arg === "-") { out.positional.push(arg); continue; }
    const eq = arg.indexOf("=");
    const name = (eq > 0 ? arg.slice(0, eq) : arg).replace(/^--?/, "");
    const s = spec[name];
    if (!s) {
      const written = arg.slice(0, eq > 0 ? eq : undefined);
      const hint = suggest(name, Object.keys(spec));
      throw new UsageError(`unknown option "${written}"${hint !== undefined ? ` (did you mean "--${hint}"?)` : ""}`);
    }
    if (!s.value) {
      if (eq > 0) throw new UsageError(`option --${name} takes no value`);
      out.flags.add(name);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`option --${name} needs a value`);
    const list = out.options[name] ?? [];
    if (list.length > 0 && !s.repeat) throw new UsageError(`option --${name} may be given only once`);
    out.options[name] = [...list, value];
  }
  return out;
}

export function single(args: ParsedArgs, name: string): string | undefined {
  return args.options[name]?.[0];
}
