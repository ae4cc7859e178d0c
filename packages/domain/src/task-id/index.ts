export * from './task-id.js';
