import { SmsApiError } from '@sms/client';

/** The server's answer to a wrong user, password or project (401 SMS.9002). */
export function wrongPassword(): SmsApiError {
  return new SmsApiError({
    status: 401,
    errorCode: 'SMS.9002',
    errorMsg: 'The user name, password or project is wrong.',
    requestId: undefined,
    body: {},
  });
}
