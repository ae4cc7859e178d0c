import * as v from 'valibot';
import { Limits } from '../limits/index.js';

/** `X-Auth-Token` header: a string of 1..16384 characters. */
export const AuthTokenSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(Limits.authTokenMaxLength));

export type AuthToken = v.InferOutput<typeof AuthTokenSchema>;

/** The request header that carries the token, and the response header that returns a new one. */
export const AUTH_TOKEN_HEADER = 'X-Auth-Token';
export const SUBJECT_TOKEN_HEADER = 'X-Subject-Token';
