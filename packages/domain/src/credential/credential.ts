import * as v from 'valibot';

/** How many access keys one user may hold, as IAM allows. */
export const ACCESS_KEYS_PER_USER = 2;

/** An access key id (AK): 20 capital letters and digits, as IAM makes them. */
export const AccessKeyIdSchema = v.pipe(
  v.string(),
  v.regex(/^[A-Z0-9]{20}$/, 'expected an access key: 20 capital letters and digits'),
);

/** Whether a key signs requests: `active`, or kept but refused (`inactive`). */
export const AccessKeyStatusSchema = v.picklist(['active', 'inactive']);
export type AccessKeyStatus = v.InferOutput<typeof AccessKeyStatusSchema>;

const UserIdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
/** A key's description: up to 255 characters, as IAM allows. */
export const CredentialDescriptionSchema = v.pipe(v.string(), v.maxLength(255));

/** The body of `POST /v3.0/OS-CREDENTIAL/credentials`: a key for the user, with an optional description. */
export const CreateCredentialRequestSchema = v.strictObject({
  credential: v.strictObject({
    user_id: UserIdSchema,
    description: v.optional(CredentialDescriptionSchema),
  }),
});
export type CreateCredentialRequest = v.InferOutput<typeof CreateCredentialRequestSchema>;

/** An access key as listed: never its secret. `create_time` is an ISO 8601 time in UTC. */
export const CredentialSchema = v.strictObject({
  access: AccessKeyIdSchema,
  user_id: v.string(),
  status: AccessKeyStatusSchema,
  description: v.string(),
  create_time: v.pipe(v.string(), v.isoTimestamp()),
});
export type Credential = v.InferOutput<typeof CredentialSchema>;

/** The 201 body of `POST /v3.0/OS-CREDENTIAL/credentials`: the only time `secret` is shown. */
export const CreateCredentialResponseSchema = v.strictObject({
  credential: v.strictObject({
    ...CredentialSchema.entries,
    secret: v.pipe(v.string(), v.regex(/^[A-Za-z0-9]{40}$/)),
  }),
});
export type CreateCredentialResponse = v.InferOutput<typeof CreateCredentialResponseSchema>;

/** The query of `GET /v3.0/OS-CREDENTIAL/credentials`: one user's keys, or (admins) the project's. */
export const ListCredentialsQuerySchema = v.strictObject({
  user_id: v.optional(UserIdSchema),
});

/** The body of `GET /v3.0/OS-CREDENTIAL/credentials`. */
export const ListCredentialsResponseSchema = v.strictObject({
  credentials: v.array(CredentialSchema),
});
export type ListCredentialsResponse = v.InferOutput<typeof ListCredentialsResponseSchema>;

/** The body of `PUT /v3.0/OS-CREDENTIAL/credentials/{access_key}`: a new status, description, or both. */
export const UpdateCredentialRequestSchema = v.strictObject({
  credential: v.pipe(
    v.strictObject({
      status: v.optional(AccessKeyStatusSchema),
      description: v.optional(CredentialDescriptionSchema),
    }),
    v.check(
      (credential) => credential.status !== undefined || credential.description !== undefined,
      'expected "status" or "description"',
    ),
  ),
});
export type UpdateCredentialRequest = v.InferOutput<typeof UpdateCredentialRequestSchema>;

/** The 200 body of `PUT /v3.0/OS-CREDENTIAL/credentials/{access_key}`. */
export const UpdateCredentialResponseSchema = v.strictObject({ credential: CredentialSchema });

/**
 * The request signature of the Huawei Cloud SDKs (API Gateway's AK/SK
 * signing): `Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=…,
 * Signature=…`, the time in `X-Sdk-Date`, the project in `X-Project-Id`.
 */
export const SIGNATURE_ALGORITHM = 'SDK-HMAC-SHA256';
export const SDK_DATE_HEADER = 'X-Sdk-Date';
export const PROJECT_ID_HEADER = 'X-Project-Id';
/** The SDKs' payload-hash header; `UNSIGNED-PAYLOAD` there means the body is not signed. */
export const SDK_CONTENT_SHA256_HEADER = 'X-Sdk-Content-Sha256';
/** How far `X-Sdk-Date` may be from the server's clock, either way: 15 minutes. */
export const SDK_DATE_SKEW_SECONDS = 15 * 60;
