import { Command } from "../command";
import { explainCommand, reachCommand, validateCommand } from "./analysis";
import { convertCommand } from "./convert";
import { diffCommand } from "./diff";
import { discoverCommand } from "./discover";
import { renderCommand } from "./render";
import { testCommand } from "./test";
import { viewCommand } from "./view";
import { watchCommand } from "./watch";
import { applyCommand, destroyCommand, planCommand, statusCommand } from "./deploy";

/** Every `netpol` command, in the order the help lists them. */
export const commands: Command[] = [validateCommand, reachCommand, explainCommand, diffCommand, testCommand, viewCommand, renderCommand, convertCommand, discoverCommand, planCommand, applyCommand, destroyCommand, statusCommand, watchCommand];
