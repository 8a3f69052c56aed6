/**
 * Output for people and for scripts. On a terminal tables are drawn with cli-table3's boxes and
 * colours; otherwise (pipes, files, CI logs) they are plain aligned columns, so grep and awk work.
 * `--json` is always exactly one JSON document.
 */
import Table from "cli-table3";

const PLAIN_CHARS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

function newTable(tty: boolean, head?: string[]): Table.Table {
  if (tty) return new Table(head ? { head } : {});
  return new Table({
    ...(head ? { head } : {}),
    chars: PLAIN_CHARS,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
}

/** cli-table3 pads the last column too; plain output should not end lines in spaces. */
const finish = (text: string) =>
  `${text
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")}\n`;

export type Cell = string | number | null;
const cell = (value: Cell) => (value === null ? "-" : String(value));

export function renderTable(head: string[], rows: Cell[][], tty: boolean): string {
  const table = newTable(tty, head);
  for (const row of rows) table.push(row.map(cell));
  return finish(table.toString());
}

/** Two columns, name and value: for one record (`show`, `stats`). */
export function renderRecord(pairs: Array<[string, Cell]>, tty: boolean): string {
  const table = newTable(tty);
  for (const [name, value] of pairs) table.push([name, cell(value)]);
  return finish(table.toString());
}

export const renderJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Long free text (user agents) cut for a table cell; --json always has the whole value. */
export function truncate(text: string | null, max: number): string | null {
  if (text === null) return null;
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
