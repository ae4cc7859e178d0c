export * from './task-summary.js';
