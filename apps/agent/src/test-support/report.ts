import { readFileSync } from 'node:fs';

/**
 * The finding lines of a `--report` file whose verification ended, parsed: its end line
 * `{"complete":true,"paths":N}` is checked (it must count them) and left out.
 */
// biome-ignore lint/suspicious/noExplicitAny: a test reads the lines' fields as it likes
export function reportFindings(file: string): any[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
  const end = lines.pop();
  if (end?.complete !== true || end.paths !== lines.length)
    throw new Error(
      `${file} does not end with {"complete":true,"paths":${lines.length}} but with ${JSON.stringify(end)}`,
    );
  return lines;
}
