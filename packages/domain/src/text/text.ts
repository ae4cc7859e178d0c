import * as v from 'valibot';

/** A UTF-16 surrogate without its pair (`\uD800`..`\uDFFF` alone): no character at all. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` is well-formed Unicode: it holds no lone surrogate (`String.prototype.isWellFormed`). */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** Text without a NUL character, which PostgreSQL cannot store (it was a 500 there, and taken on SQLite). */
export function noNul(message = 'cannot hold a NUL character') {
  return v.check<string, string>((text) => !text.includes('\0'), message);
}

/**
 * Well-formed text: a lone surrogate (JSON can carry one, `"\ud800"`) is no character, so UTF-8
 * cannot hold it: PostgreSQL stored U+FFFD in its place, so that two paths became one (or a 500
 * when both came in one upload), where SQLite kept it; now a 400 on both.
 */
export function wellFormed(
  message = 'is not valid Unicode: it holds a lone surrogate (\\uD800..\\uDFFF without its pair), which is no character; send the text as it is, in UTF-8',
) {
  return v.check<string, string>(isWellFormedText, message);
}
