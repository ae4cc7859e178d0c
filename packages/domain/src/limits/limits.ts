/**
 * The exact limits of the SMS v3 API page (`POST /v3/tasks/{task_id}/consistency-result`).
 * Every schema, the agent's splitting and the docs read them from here.
 */
export const Limits = {
  /** `task_id`: 1..36 characters. */
  taskIdMaxLength: 36,
  /** `X-Auth-Token`: 1..16384 characters. */
  authTokenMaxLength: 16_384,
  /** `dir_check`: 0..1024 characters (UTF-16 code units, as JavaScript and Java count them). */
  dirCheckMaxLength: 1024,
  /** Each `num_*` count: an integer 0..1,000,000. */
  fileCountMax: 1_000_000,
  /** `consistency_result`: 0..30 entries per upload. */
  resultsPerUploadMax: 30,
  /** Error bodies: `error_code` up to 255 characters. */
  errorCodeMaxLength: 255,
  /** Error bodies (400, 404, 500): `error_msg` up to 1024 characters. */
  errorMsgMaxLength: 1024,
  /** 403 bodies: `error_msg` up to 255 characters. */
  forbiddenErrorMsgMaxLength: 255,
  /** 403 bodies: `encoded_authorization_message` and each `error_param` up to 65535 characters. */
  encodedAuthorizationMessageMaxLength: 65_535,
  /** 403 bodies: `error_param` and `details` hold 1..20 entries. */
  forbiddenListMaxItems: 20,
} as const;
