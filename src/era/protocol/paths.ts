/**
 * Where the platform's APIs live ([C] paths), and a REST request before credentials are added.
 */
import type { JsonObject } from '../types';

export const PATHS = {
  sessions: '/rest/v1/iam/sessions',
  currentSession: '/rest/v1/iam/sessions/current',
  calls: '/rest/v1/uc/calls',
  callRecords: '/api/admin/v1/callrecords',
  webhooks: '/rest/v1/service/webhooks',
  wsUser: '/ws',
  wsToken: '/ws/token/v1',
} as const;

export type Query = Record<string, string | number>;

/** A REST request as the platform expects it, before credentials are added. */
export interface PlatformRequest {
  method: string;
  path: string;
  body?: JsonObject;
  query?: Query;
}
