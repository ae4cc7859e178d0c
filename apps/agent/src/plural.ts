const number = new Intl.NumberFormat('en-US');

/** `1 file`, `2 files`, `1,000 entries`: a count with its noun, singular or plural. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${number.format(count)} ${count === 1 ? one : many}`;
}
