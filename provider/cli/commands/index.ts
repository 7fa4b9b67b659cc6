import { Command } from "../command";
import { explainCommand, reachCommand, validateCommand } from "./analysis";

export const analysisCommands: Command[] = [validateCommand, reachCommand, explainCommand];
