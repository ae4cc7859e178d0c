export * from './error-response.js';
