/** Parsers for option values; a bad value is a usage error (exit 2) with commander's message. */
import { InvalidArgumentError } from "commander";
import { parseDuration } from "../server/core/duration";

export function wholeNumber(min: number, max: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return Number(text);
  };
}

/** A duration such as 30d, 12h or 0s (zero is allowed here: "everything that has ended"). */
export function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new InvalidArgumentError("expected a duration with an ms/s/m/h/d suffix, e.g. 30d.");
  return ms;
}

/** The "Examples:" block every command's --help ends with. */
export const examples = (...lines: string[]) => `\nExamples:\n${lines.map((line) => `  $ ${line}`).join("\n")}\n`;
