/** The shape of one `netpol` subcommand. */
import { OptionSpec, ParsedArgs } from "./args";
import { CliIo } from "./io";

export interface Command {
  name: string;
  /** One line for `netpol --help`. */
  summary: string;
  /** Full `netpol <name> --help` text. */
  help: string;
  options: Record<string, OptionSpec>;
  /** Number of positional arguments required (the model file, usually). */
  positional: number;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}
