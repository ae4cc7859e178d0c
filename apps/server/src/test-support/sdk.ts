import { stringify } from 'node:querystring';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient.js';
import { DefaultHttpClient } from '@huaweicloud/huaweicloud-sdk-core/http/DefaultHttpClient.js';
import { type Logger, LogLevel } from '@huaweicloud/huaweicloud-sdk-core/logger/index.js';

/** An access key pair and the project it signs for. */
export interface KeyPair {
  ak: string;
  sk: string;
  projectId?: string;
}

/**
 * The official SDK core's client for a server, signing with `key`: requests
 * go through `HcClient.sendRequest` exactly as the official SMS SDK sends them.
 */
export function sdkClient(url: string, key: KeyPair): HcClient {
  const credentials = new BasicCredentials().withAk(key.ak).withSk(key.sk);
  if (key.projectId !== undefined) credentials.withProjectId(key.projectId);
  // what ClientBuilder builds, with the HTTP client's error log (every refused request, whole) quiet
  const http = new DefaultHttpClient({ logger: QUIET, headers: { 'User-Agent': 'sms-server-tests' } }, [url]);
  return new HcClient(http).withCredential(credentials).withEndpoints([url]);
}

const QUIET: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

/**
 * The official SMS SDK's request definitions (`@huaweicloud/huaweicloud-sdk-sms`,
 * v3 `SmsClient`'s `ParamCreater`) for the three operations we serve.
 */
export const smsRequests = {
  updateConsistencyResult: (taskId: string, body: unknown, headers: Record<string, string> = {}) => ({
    method: 'POST',
    url: '/v3/tasks/{task_id}/consistency-result',
    contentType: 'application/json;charset=UTF-8',
    queryParams: {},
    pathParams: { task_id: taskId },
    headers: { 'Content-Type': 'application/json;charset=UTF-8', ...headers },
    data: body as Record<string, unknown>,
  }),
  showConsistencyResult: (taskId: string, headers: Record<string, string> = {}) => ({
    method: 'GET',
    url: '/v3/tasks/{task_id}/consistency-result',
    contentType: 'application/json',
    queryParams: {},
    pathParams: { task_id: taskId },
    headers,
  }),
  listTasks: (query: Record<string, string | number> = {}) => ({
    method: 'GET',
    url: '/v3/tasks',
    contentType: 'application/json',
    queryParams: query,
    pathParams: {},
    headers: {},
  }),
};

/**
 * Headers for a request signed by the official SDK core's `AKSKSigner`, to
 * send with `fetch` or in-process: the same bytes the SDK would send (the
 * body as `JSON.stringify`, the query as Node's `querystring`). `date` fixes
 * `X-Sdk-Date`; `headers` are signed with the others.
 */
export function officialSignature(request: {
  url: string;
  method: string;
  key: KeyPair;
  query?: Record<string, string | string[]>;
  body?: unknown;
  headers?: Record<string, string>;
  date?: string;
}): { url: string; init: RequestInit } {
  const credentials = new BasicCredentials().withAk(request.key.ak).withSk(request.key.sk);
  const headers: Record<string, string> = {
    ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(request.key.projectId === undefined ? {} : { 'X-Project-Id': request.key.projectId }),
    ...(request.date === undefined ? {} : { 'X-Sdk-Date': request.date }),
    ...request.headers,
  };
  const signed = AKSKSigner.sign(
    {
      endpoint: request.url,
      method: request.method,
      headers,
      queryParams: request.query ?? {},
      ...(request.body === undefined ? {} : { data: request.body }),
    },
    credentials,
  ) as Record<string, string>;
  const query = request.query ? stringify(request.query) : '';
  return {
    url: query ? `${request.url}?${query}` : request.url,
    init: {
      method: request.method,
      headers: signed,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    },
  };
}
