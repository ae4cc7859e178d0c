let general: Intl.NumberFormat | undefined;

/**
 * A number as `en-US` writes it, `1,234,567`. Integers are grouped here:
 * making an `Intl.NumberFormat` loads ICU's locale data, about 20 ms of a
 * start-up that is otherwise 50 ms, so it is made only for other numbers.
 */
export function formatCount(value: number): string {
  if (!Number.isSafeInteger(value)) {
    general ??= new Intl.NumberFormat('en-US');
    return general.format(value);
  }
  const digits = String(Math.abs(value));
  let grouped = digits.slice(0, digits.length % 3 || 3);
  for (let i = grouped.length; i < digits.length; i += 3) grouped += `,${digits.slice(i, i + 3)}`;
  return value < 0 || Object.is(value, -0) ? `-${grouped}` : grouped;
}

/** `1 file`, `2 files`, `1,000 entries`: a count with its noun, singular or plural. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

/** A duration for people, to the tenth of a second: `0.5 s`, `150 s`. */
export const inSeconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
