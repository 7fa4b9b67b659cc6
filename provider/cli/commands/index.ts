import { Command } from "../command";
import { explainCommand, reachCommand, validateCommand } from "./analysis";
import { convertCommand } from "./convert";

export const analysisCommands: Command[] = [validateCommand, reachCommand, explainCommand, convertCommand];
