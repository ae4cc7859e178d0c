import {
  AccessKeyIdSchema,
  AUTH_TOKEN_HEADER,
  AuthenticationError,
  type ErrorCodeEntry,
  ErrorCodes,
  PROJECT_ID_HEADER,
  SDK_CONTENT_SHA256_HEADER,
  SDK_DATE_HEADER,
  SDK_DATE_SKEW_SECONDS,
  SIGNATURE_ALGORITHM,
} from '@sms/domain';
import { formatSdkDate, parseSdkDate, sha256Hex } from '@sms/domain/signature';
import * as v from 'valibot';
import { type ParsedAuthorization, parseAuthorization, signatureMatches } from '../crypto/sdk-signature.js';
import type { AccountStore, SignInStore } from '../storage/storage.js';
import type { AccessKeyService } from './access-key-service.js';
import { type Principal, toPrincipal } from './auth-service.js';
import { DEFAULT_SIGN_IN_LIMITS, refuseOverLimit, type SignInLimits } from './sign-in-limits.js';

/** A request as a signature check reads it. */
export interface SignedRequest {
  method: string;
  /** The path as sent, percent-encoding kept. */
  rawPath: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  /** A request header's value (any case of name), or undefined. */
  header(name: string): string | undefined;
  /** The body's bytes (read once, up to the body limit). */
  body(): Promise<Uint8Array>;
  /**
   * A body too large to read first (a findings upload): the signature is
   * checked with the hash its `X-Sdk-Content-Sha256` declares, which the
   * route then compares with the body's as it streams, before it keeps anything.
   */
  streamed?: boolean;
  /** The client's address, as the sign-in limits count it. */
  address: string;
}

const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** True when an `Authorization` header claims the SDKs' signature (well formed or not). */
export function isSignedAuthorization(header: string | undefined): header is string {
  return header?.trimStart().toUpperCase().startsWith(SIGNATURE_ALGORITHM) === true;
}

function refuse(entry: ErrorCodeEntry, reason: string, message: string): AuthenticationError {
  return new AuthenticationError(reason, entry, message);
}

/**
 * Requests signed with an access key (`Authorization: SDK-HMAC-SHA256 …`),
 * as the official Huawei Cloud SDKs sign them. Checked in this order: the
 * header's form and that no token comes with it (`SMS.9009`), `X-Sdk-Date`
 * (`SMS.9008`), the sign-in limits (429 `SMS.9005`), the key (`SMS.9006`, read from the database on every request),
 * the signature (`SMS.9007`), the project (`SMS.9010`). The key's user's role
 * in the project then decides, as for a token.
 */
export class SignatureService {
  private readonly accounts: AccountStore;
  private readonly signIn: SignInStore;
  private readonly clock: () => number;
  private readonly limits: SignInLimits;

  constructor(
    stores: { accounts: AccountStore; signIn: SignInStore },
    private readonly accessKeys: AccessKeyService,
    options: { clock?: () => number; signInLimits?: SignInLimits } = {},
  ) {
    this.accounts = stores.accounts;
    this.signIn = stores.signIn;
    this.clock = options.clock ?? Date.now;
    this.limits = options.signInLimits ?? DEFAULT_SIGN_IN_LIMITS;
  }

  async authenticate(request: SignedRequest, taskId?: string): Promise<Principal> {
    const auth = this.parse(request);
    const date = this.checkDate(request.header(SDK_DATE_HEADER));
    // A wrong key or signature counts as a failed sign-in, for the key (as for a user name) and the
    // address (shared with password sign-ins); past the limits, refused before any check (429).
    const counts = [
      ...(v.is(AccessKeyIdSchema, auth.accessKey)
        ? [[`access-key:${auth.accessKey}`, this.limits.perUser, 'with this access key'] as const]
        : []),
      [`address:${request.address}`, this.limits.perAddress, 'from this address'] as const,
    ];
    await refuseOverLimit(this.signIn, counts, this.clock(), this.limits.windowSeconds);
    const failed = (entry: ErrorCodeEntry, reason: string, message: string) =>
      this.signIn
        .countFailure(
          counts.map(([key]) => key),
          this.clock(),
          this.limits.windowSeconds * 1000,
        )
        .then(() => refuse(entry, reason, message));
    const declared = request.header(SDK_CONTENT_SHA256_HEADER);
    if (request.streamed && (declared === undefined || !/^[0-9a-f]{64}$/.test(declared))) {
      throw refuse(
        ErrorCodes.AuthorizationMalformed,
        `streamed body signed without ${SDK_CONTENT_SHA256_HEADER}`,
        `A findings upload signed with an access key must send ${SDK_CONTENT_SHA256_HEADER}: the hex SHA-256 of the body as sent (compressed), and sign it.`,
      );
    }
    const body = request.streamed ? new Uint8Array() : await request.body();
    const bodyHash = request.streamed && declared !== undefined ? declared : sha256Hex(body);
    const key = await this.accessKeys.activeSecret(auth.accessKey);
    if (!key) {
      throw await failed(
        ErrorCodes.AccessKeyInvalid,
        `access key ${auth.accessKey} unknown, inactive or deleted`,
        'The access key is unknown, inactive or deleted; sign with an active access key.',
      );
    }
    const parts = { ...request, payloadHash: declared ?? bodyHash, date };
    if (!signatureMatches(parts, auth, key.secret)) {
      throw await failed(
        ErrorCodes.SignatureMismatch,
        `signature of access key ${auth.accessKey} does not match`,
        'The signature does not match the request; sign it with the secret key of this access key (SDK-HMAC-SHA256).',
      );
    }
    if (
      declared !== undefined &&
      declared !== bodyHash &&
      !(declared === UNSIGNED_PAYLOAD && body.length === 0)
    ) {
      throw refuse(
        ErrorCodes.SignatureMismatch,
        `${SDK_CONTENT_SHA256_HEADER} is not the body's hash`,
        `The body is not the one signed: ${SDK_CONTENT_SHA256_HEADER} must be its hex SHA-256 (unsigned bodies are refused).`,
      );
    }
    return this.principal(key.userId, request.header(PROJECT_ID_HEADER), taskId);
  }

  /** The Authorization header's parts, with every signed header present and X-Project-Id among them. */
  private parse(request: SignedRequest): ParsedAuthorization {
    const malformed = (reason: string, message: string) =>
      refuse(ErrorCodes.AuthorizationMalformed, reason, message);
    if (request.header(AUTH_TOKEN_HEADER) !== undefined) {
      throw malformed(
        'both a token and a signature',
        `The request carries both an ${AUTH_TOKEN_HEADER} and a signature; send only one of them.`,
      );
    }
    const auth = parseAuthorization(request.header('authorization') ?? '');
    if (!auth) {
      throw malformed(
        'authorization malformed',
        'The Authorization header is not "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=<64 hex digits>".',
      );
    }
    const missing = auth.signedHeaders.find((name) => request.header(name) === undefined);
    if (missing !== undefined) {
      throw malformed(
        `signed header ${missing} missing`,
        `The signed header ${missing.slice(0, 64)} is not in the request; sign only the headers you send.`,
      );
    }
    if (request.header(PROJECT_ID_HEADER) !== undefined && !auth.signedHeaders.includes('x-project-id')) {
      throw malformed(
        'X-Project-Id not signed',
        `${PROJECT_ID_HEADER} is sent but not signed; list x-project-id in SignedHeaders.`,
      );
    }
    return auth;
  }

  /** `X-Sdk-Date` as sent, when it is in the SDKs' form and within the allowed skew of the server's clock. */
  private checkDate(value: string | undefined): string {
    const time = value === undefined ? undefined : parseSdkDate(value);
    const now = this.clock();
    if (value === undefined || time === undefined) {
      throw refuse(
        ErrorCodes.SdkDateInvalid,
        'X-Sdk-Date missing or malformed',
        `${SDK_DATE_HEADER} is missing or not a UTC time like ${formatSdkDate(now)}; send the signing time in it.`,
      );
    }
    if (Math.abs(now - time) > SDK_DATE_SKEW_SECONDS * 1000) {
      throw refuse(
        ErrorCodes.SdkDateInvalid,
        `X-Sdk-Date ${value} is ${Math.round((now - time) / 1000)} s from the server's clock`,
        `${SDK_DATE_HEADER} is more than ${SDK_DATE_SKEW_SECONDS / 60} minutes from the server's time (${formatSdkDate(now)}); set the client's clock right and sign again.`,
      );
    }
    return value;
  }

  /** The key's user in the project of X-Project-Id, or in its only project. */
  private async principal(
    userId: string,
    projectId: string | undefined,
    taskId?: string,
  ): Promise<Principal> {
    let project = projectId;
    if (project === undefined) {
      const memberships = await this.accounts.memberships(userId);
      if (memberships.length === 1) project = memberships[0]?.project_id;
    }
    const found = project === undefined ? undefined : await this.accounts.principal(userId, project, taskId);
    if (!found) {
      throw refuse(
        ErrorCodes.ProjectNotAllowed,
        projectId === undefined
          ? 'no X-Project-Id, and not exactly one project'
          : `no role in project ${projectId}`,
        projectId === undefined
          ? `The key's user is in several projects (or none); name one in ${PROJECT_ID_HEADER}.`
          : `The key's user has no role in the project of ${PROJECT_ID_HEADER}; send one of its projects' ids.`,
      );
    }
    return toPrincipal(found, taskId);
  }
}
