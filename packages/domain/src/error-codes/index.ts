export * from './error-codes.js';
export * from './errors.js';
