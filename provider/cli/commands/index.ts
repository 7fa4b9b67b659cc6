import { Command } from "../command";
import { explainCommand, reachCommand, validateCommand } from "./analysis";
import { convertCommand } from "./convert";
import { renderCommand } from "./render";

export const analysisCommands: Command[] = [validateCommand, reachCommand, explainCommand, renderCommand, convertCommand];
