/** Prints the model's warnings (parts of its policies that match nothing) on stderr, one per line. */
import { modelWarnings } from "../compile/warnings";
import { Model } from "../model/model";
import { CliIo } from "./io";

export function printWarnings(file: string, model: Model, io: CliIo): void {
  for (const w of modelWarnings(model)) io.err(`${file}: warning: ${w.path}: ${w.message}`);
}
