import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWellFormedText } from './text.js';

/** The engine's own answer (Node.js 20 has it; the library target does not declare it). */
const native = (text: string) => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

const codeUnit = fc
  .oneof(fc.integer({ min: 0xd7f0, max: 0xe010 }), fc.integer({ min: 0x20, max: 0x7e }))
  .map((unit) => String.fromCharCode(unit));

describe('isWellFormedText', () => {
  it('finds a lone surrogate anywhere, and takes pairs and plain text', () => {
    for (const text of ['\ud800', '\udc00', 'a\ud800', '\udfffb', '\ud800\ud800\udc00', '\ud800\udc00\udc00'])
      expect([text, isWellFormedText(text)]).toEqual([text, false]);
    for (const text of ['', 'abc', '\u00e9', '\ud83d\ude00', '/x/\u{10FFFF}', '\uffff'])
      expect([text, isWellFormedText(text)]).toEqual([text, true]);
  });

  it('answers as String.prototype.isWellFormed on any UTF-16 text', () => {
    fc.assert(
      // code units about the surrogates (and plain ones), so that lone halves, pairs and reversed
      // pairs all come up (fast-check's own units never give a lone half)
      fc.property(fc.string({ unit: codeUnit, maxLength: 12 }), (text) => {
        expect(isWellFormedText(text)).toBe(native(text));
      }),
      { numRuns: 2000 },
    );
  });
});
