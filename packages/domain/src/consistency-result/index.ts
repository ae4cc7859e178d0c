export * from './consistency-result.js';
