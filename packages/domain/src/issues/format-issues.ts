import type * as v from 'valibot';
import { Limits } from '../limits/index.js';

const RECEIVED_MAX = 64;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * The path of an issue as a reader writes it: `consistency_result[3].num_total_files`.
 * Issues on the value itself are named by `root` (`body` unless told otherwise).
 */
export function formatIssuePath(issue: v.BaseIssue<unknown>, root = 'body'): string {
  const keys = issue.path?.map((item) => item.key) ?? [];
  if (keys.length === 0) return root;
  let text = '';
  for (const key of keys) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${truncate(JSON.stringify(String(key)))}]`;
  }
  return text;
}

function truncate(text: string, max = RECEIVED_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** "object", "array", "integer" instead of valibot's "Object", "Array", "number". */
function expectedType(expected: string | null): string {
  switch (expected) {
    case 'Object':
      return 'object';
    case 'Array':
      return 'array';
    // Every number of this API is an integer (counts, limits, offsets, times).
    case 'number':
      return 'integer';
    default:
      return expected ?? 'another value';
  }
}

/**
 * The rule an issue broke, in words: `expected integer <= 1000000, received 1000001`.
 */
export function describeIssue(issue: v.BaseIssue<unknown>): string {
  const received = truncate(issue.received);
  const requirement = (issue as { requirement?: unknown }).requirement;
  const unit = Array.isArray(issue.input) ? 'items' : 'characters';
  switch (issue.type) {
    case 'object':
    case 'strict_object':
    case 'loose_object':
      if (issue.path && issue.received === 'undefined') return 'is required';
      if (issue.expected === 'never') return 'is not a field of this object; remove it';
      return `expected ${expectedType(issue.expected)}, received ${received}`;
    case 'integer':
      return `expected integer, received ${received}`;
    case 'min_value':
      return `expected integer >= ${String(requirement)}, received ${received}`;
    case 'max_value':
      return `expected integer <= ${String(requirement)}, received ${received}`;
    case 'min_length':
      return requirement === 1 && unit === 'characters'
        ? 'must not be empty'
        : `expected at least ${String(requirement)} ${unit}, received ${received}`;
    case 'max_length':
      return `expected at most ${String(requirement)} ${unit}, received ${received}`;
    case 'picklist':
      return `expected one of ${(issue.expected ?? '').replace(/^\((.*)\)$/, '$1')}, received ${received}`;
    case 'check':
    case 'raw_check':
    case 'regex':
    case 'custom':
      return issue.message;
    default:
      return issue.kind === 'schema'
        ? `expected ${expectedType(issue.expected)}, received ${received}`
        : issue.message;
  }
}

/**
 * Turns valibot issues into one message of at most 1024 characters (the
 * page's limit for `error_msg`): each issue as `path: rule`, joined by `; `.
 * @example formatIssues(v.safeParse(schema, body).issues!) // "consistency_result[3].num_total_files: expected integer <= 1000000, received 1000001"
 */
export function formatIssues(
  issues: readonly v.BaseIssue<unknown>[],
  options: { root?: string; maxLength?: number } = {},
): string {
  const max = options.maxLength ?? Limits.errorMsgMaxLength;
  const parts = issues.map((issue) => `${formatIssuePath(issue, options.root)}: ${describeIssue(issue)}`);
  if (parts.length === 0) return 'invalid request';
  let message = '';
  for (let i = 0; i < parts.length; i++) {
    const next = message === '' ? parts[i]! : `${message}; ${parts[i]}`;
    const rest = parts.length - i - 1;
    const tail = rest > 0 ? `; and ${rest} more` : '';
    if (next.length + tail.length > max) {
      const more = `; and ${parts.length - i} more`;
      if (message === '') return truncate(parts[i]!, max);
      return message.length + more.length <= max ? message + more : truncate(message, max);
    }
    message = next;
  }
  return message;
}
