import { toJsonSchema } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { AuthTokenRequestSchema, AuthTokenResponseSchema } from '../auth/index.js';
import { ConfigurationResponseSchema, UpdateConfigurationRequestSchema } from '../configuration/index.js';
import {
  ConsistencyResultSchema,
  ShowConsistencyResultResponseSchema,
  UpdateConsistencyResultRequestSchema,
  UpdateConsistencyResultResponseSchema,
} from '../consistency-result/index.js';
import {
  CreateCredentialRequestSchema,
  CreateCredentialResponseSchema,
  ListCredentialsResponseSchema,
  UpdateCredentialRequestSchema,
  UpdateCredentialResponseSchema,
} from '../credential/index.js';
import { ErrorResponseSchema, ForbiddenErrorResponseSchema } from '../error-response/index.js';
import {
  FindingSchema,
  FindingsPageSchema,
  TruncationMarkerSchema,
  UploadFindingsResponseSchema,
} from '../findings/index.js';
import {
  CreateTaskRequestSchema,
  CreateTaskResponseSchema,
  ListTasksParamsSchema,
  ListTasksResponseSchema,
  TaskSchema,
} from '../task/index.js';
import {
  ClaimRequestSchema,
  ClaimResponseSchema,
  FinishRequestSchema,
  HeartbeatRequestSchema,
  ReleaseRequestSchema,
  VerificationListSchema,
  VerificationRequestSchema,
} from '../verification/index.js';

type JsonSchema = ReturnType<typeof toJsonSchema>;

/**
 * Cross-field rules (`check`, `rawCheck`) have no JSON Schema form; they are
 * ignored here and stated in the descriptions of the OpenAPI document.
 */
function convert(schema: v.GenericSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = toJsonSchema(schema, { errorMode: 'ignore' });
  return rest;
}

/**
 * JSON Schema (draft-07) of every request and response body, generated from
 * the valibot schemas, so that the server's OpenAPI document is derived and
 * never written by hand.
 */
export function buildJsonSchemas() {
  return {
    ConsistencyResult: convert(ConsistencyResultSchema),
    UpdateConsistencyResultRequest: convert(UpdateConsistencyResultRequestSchema),
    UpdateConsistencyResultResponse: convert(UpdateConsistencyResultResponseSchema),
    ShowConsistencyResultResponse: convert(ShowConsistencyResultResponseSchema),
    ErrorResponse: convert(ErrorResponseSchema),
    ForbiddenErrorResponse: convert(ForbiddenErrorResponseSchema),
    CreateTaskRequest: convert(CreateTaskRequestSchema),
    CreateTaskResponse: convert(CreateTaskResponseSchema),
    Task: convert(TaskSchema),
    ListTasksParams: convert(ListTasksParamsSchema),
    ListTasksResponse: convert(ListTasksResponseSchema),
    AuthTokenRequest: convert(AuthTokenRequestSchema),
    AuthTokenResponse: convert(AuthTokenResponseSchema),
    CreateCredentialRequest: convert(CreateCredentialRequestSchema),
    CreateCredentialResponse: convert(CreateCredentialResponseSchema),
    ListCredentialsResponse: convert(ListCredentialsResponseSchema),
    UpdateCredentialRequest: convert(UpdateCredentialRequestSchema),
    UpdateCredentialResponse: convert(UpdateCredentialResponseSchema),
    Finding: convert(FindingSchema),
    TruncationMarker: convert(TruncationMarkerSchema),
    UploadFindingsResponse: convert(UploadFindingsResponseSchema),
    FindingsPage: convert(FindingsPageSchema),
    UpdateConfigurationRequest: convert(UpdateConfigurationRequestSchema),
    ConfigurationResponse: convert(ConfigurationResponseSchema),
    VerificationRequest: convert(VerificationRequestSchema),
    VerificationList: convert(VerificationListSchema),
    ClaimRequest: convert(ClaimRequestSchema),
    ClaimResponse: convert(ClaimResponseSchema),
    HeartbeatRequest: convert(HeartbeatRequestSchema),
    FinishRequest: convert(FinishRequestSchema),
    ReleaseRequest: convert(ReleaseRequestSchema),
  } as const satisfies Record<string, JsonSchema>;
}

export type JsonSchemas = ReturnType<typeof buildJsonSchemas>;
