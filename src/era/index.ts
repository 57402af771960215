/** The Era platform client, usable without Node-RED. */
export { EraClient } from './client';
export type {
  ClientState,
  ClientStats,
  CommandResult,
  EraClientOptions,
  ListenHandle,
  RestOptions,
  RestResult,
  TestResult,
} from './client';
export { EraError, type EraErrorCode } from './errors';
export { validateCommand, validateDigits, type CallCommand, type ValidCommand } from './commands';
export { callFromPlatform, type CallTable } from './calls';
export { matchesPattern } from './patterns';
export { callListItems } from './protocol';
export { diffCalls, type CallSnapshot, type PollChange } from './poll-diff';
export type { ListenSpec } from './subscriptions';
export type { RecordingData, RecordingFile, RecordingLink } from './recordings';
export type { CallState, CallDirection, CallPhase, EraEvent, JsonObject, Logger, ProtocolObserver } from './types';
export type { ConnectionSetup } from './handshake';
