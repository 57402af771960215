/**
 * The Era platform client, usable without Node-RED: the one door the nodes, era-check and the
 * cluster come in by. Inside, each folder is a room with one job (see docs/ARCHITECTURE.md):
 * `protocol/` every modelled wire shape, `connection/` the socket, session and REST,
 * `calls/` the call table, `events/` an event's way to its listeners, `commands/` call control
 * and recordings, `util/` small helpers; `client.ts` puts them together.
 */
export { EraClient } from './client';
export type { ClientState, ClientStats, CommandResult, EraClientOptions, ListenHandle, RestOptions, RestResult, TestResult, TlsConfig } from './client';
export { EraError, describeNetworkError, makeRedactor, shownUrl, type EraErrorCode, type Redactor } from './errors';
export type { CallState, CallDirection, CallPhase, EraEvent, EventClaims, JsonObject, Logger, ProtocolObserver, ValidCommand } from './types';

export { validateCallId, validateCommand, validateDigits, type CallCommand } from './commands/validate';
export type { RecordingData, RecordingFile, RecordingLink } from './commands/recordings';

export { callFromPlatform, snapshot, type CallHandOver, type CallTable } from './calls/table';

export { compilePatterns, isTopicPattern, matchesPattern } from './events/patterns';
export { CLAIM_TIMEOUT_MS, claimKeys } from './events/claims';
export { diffCalls, PollChangeKeys, type CallSnapshot, type PollChange } from './events/poll-diff';
export { GAP_FILL_HORIZON_MS } from './events/gapfill';
export type { ListenSpec } from './events/subscriptions';
export { WebhookInbox } from './events/webhook-inbox';
export { WebhookRegistration, webhookClasses, type RegistrationDeps, type RegistrationState } from './events/webhook-registration';

export type { ConnectionSetup } from './connection/handshake';
export { checkedBaseUrl } from './connection/options';
export { proxyFor, tunnel } from './connection/proxy';
export { connectOptions, type TlsSettings } from './connection/rest';

export { AFTER_END_TOPICS, DIALOG_STOP_TOPIC, RECORDING_TOPICS } from './protocol/call-events';
export { callListItems } from './protocol/call-list';
export { PATHS, type PlatformRequest } from './protocol/paths';
export { errorBodyText, replyError } from './protocol/replies';
export { isBanAnswer } from './protocol/session';
export { capabilityResults, type CapabilityResult } from './protocol/setup';
export { isObject } from './protocol/values';
export { deliveryEvents, type DeliveryContents } from './protocol/webhooks';
export { webhookDeleteRequest } from './protocol/webhooks';

export { copyJson } from './util/copy';
export { MAX_TIMER_MS } from './util/timers';
export type { CallLogSpec } from './client';
export type { CallLogDirection, LoggedCall } from './calls/call-log';
export type { CallLogHandOver } from './calls/call-logs';
export type { CallOutcome, CallRecord } from './calls/record';
export { messageOf, shownValue } from './util/text';
export type { CallStatsHandle, CallStatsSpec } from './client';
export { StatsWindow, type CallStatsSnapshot, type LiveFigures, type OperatorFigures, type OperatorState, type WindowFigures } from './calls/stats';
