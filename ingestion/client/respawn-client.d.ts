// Types of respawn-client.js, the browser client of the respawn ingestor (event schema v1).

/** Stable refusal codes, identical to the server's (`ingestion.contract.Code`). */
export type RefusalCode =
  | "not_an_object"
  | "missing_field"
  | "wrong_type"
  | "invalid_uuid"
  | "invalid_timestamp"
  | "invalid_value"
  | "out_of_range"
  | "string_too_long"
  | "event_too_large"
  | "invalid_json"
  | "frame_not_object"
  | "invalid_envelope"
  | "batch_too_large"
  | "rate_limited"
  | "torn_write";

export declare const Code: Readonly<{
  NOT_AN_OBJECT: "not_an_object";
  MISSING_FIELD: "missing_field";
  WRONG_TYPE: "wrong_type";
  INVALID_UUID: "invalid_uuid";
  INVALID_TIMESTAMP: "invalid_timestamp";
  INVALID_VALUE: "invalid_value";
  OUT_OF_RANGE: "out_of_range";
  STRING_TOO_LONG: "string_too_long";
  EVENT_TOO_LARGE: "event_too_large";
  INVALID_JSON: "invalid_json";
  FRAME_NOT_OBJECT: "frame_not_object";
  INVALID_ENVELOPE: "invalid_envelope";
  BATCH_TOO_LARGE: "batch_too_large";
  RATE_LIMITED: "rate_limited";
  TORN_WRITE: "torn_write";
}>;

export declare const SCHEMA_VERSION: "v1";

/** The generated v1 rules (contract.js); the client checks events against them. */
export declare const CONTRACT: {
  readonly schema_version: string;
  readonly platform: string;
  readonly max_event_bytes: number;
  readonly max_batch_events: number;
  readonly max_frame_bytes: number;
  readonly uuid_pattern: string;
  readonly timestamp_pattern: string;
  readonly codes: Readonly<Record<string, RefusalCode>>;
  readonly base_fields: readonly FieldSpec[];
  readonly event_types: Readonly<
    Record<string, { readonly description: string; readonly fields: readonly FieldSpec[] }>
  >;
};

export interface FieldSpec {
  readonly name: string;
  readonly kind: "string" | "uuid" | "timestamp" | "enum" | "boolean" | "integer" | "const";
  readonly description: string;
  readonly values: readonly string[];
  readonly max_length: number;
  readonly minimum: number;
  readonly maximum: number | null;
}

export type EntryPoint = "lobby" | "matchmaking" | "invite";
export type MatchResult = "win" | "loss" | "disconnect";
export type OpponentType = "human" | "bot";
export type DisconnectReason = "network" | "quit" | "crash";

interface BaseEvent {
  event_version: "v1";
  /** crypto.randomUUID(); the platform dedupes on it. */
  event_id: string;
  user_id: string;
  session_id: string;
  /** Client clock, new Date().toISOString(). */
  timestamp: string;
  client_version: string;
  platform: "web";
}

export interface SessionStartEvent extends BaseEvent {
  event_name: "session_start";
  is_new_user: boolean;
  entry_point: EntryPoint;
}

export interface MatchPlayedEvent extends BaseEvent {
  event_name: "match_played";
  match_id: string;
  match_duration_sec: number;
  result: MatchResult;
  opponent_type: OpponentType;
}

export interface DisconnectEvent extends BaseEvent {
  event_name: "disconnect";
  disconnect_reason: DisconnectReason;
  time_since_session_start_sec: number;
}

export type RespawnEvent = SessionStartEvent | MatchPlayedEvent | DisconnectEvent;

export interface Failure {
  code: RefusalCode;
  /** The offending field, or null for event- or frame-level refusals. */
  field: string | null;
  message: string;
}

/** Thrown by the event methods (and the constructor) when the server would refuse the event. */
export declare class RespawnValidationError extends Error {
  readonly name: "RespawnValidationError";
  readonly code: RefusalCode;
  readonly field: string | null;
  /** The event as built, or null when the constructor options were refused. */
  readonly event: Record<string, unknown> | null;
}

/** An ack of the ingestor: the batch landed (refused events are dead-lettered, listed). */
export interface Ack {
  batch_id: string;
  accepted: number;
  rejected: Array<{ index: number; event_id: string | null } & Failure>;
  event_ids: string[];
}

/** An event the ingestor refused. It is not retried. */
export interface Rejection extends Failure {
  event: RespawnEvent;
  batch_id: string;
  index: number;
}

export interface Status {
  state: "connecting" | "open" | "closed";
  /** On "closed": the WebSocket close code and reason, and when the next attempt is. */
  code?: number;
  reason?: string;
  retryInMs?: number;
}

/** Minimal Storage interface (localStorage by default). */
export interface QueueStorage {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface RespawnClientOptions {
  /** The ingestor, e.g. "wss://ingest.example.com/" or "ws://127.0.0.1:8765/". */
  url: string;
  /** Sent as the `?token=` query parameter (browsers cannot set WebSocket headers). */
  token?: string;
  /** Your game's version, e.g. "1.4.2" (at most 64 characters). */
  clientVersion: string;
  /** The player's UUID. */
  userId: string;
  /** Events per batch frame, 1..500. Default 50. */
  batchSize?: number;
  /** A batch is sent at the latest this long after its first event. Default 1000. */
  batchMaxAgeMs?: number;
  /** Bytes per batch frame (below the ingestor's 1 MiB frame limit). Default 512 KiB. */
  maxBatchBytes?: number;
  /** Bound of the offline queue; past it the oldest are dropped (onDropped). Default 10000. */
  maxQueuedEvents?: number;
  /** Batches sent but not yet acked at once. Default 8. */
  maxInFlight?: number;
  /** Reconnect delays: exponential from initialMs to maxMs, with jitter. Default 500 / 30000. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Give up a connection attempt after this long. Default 10000. */
  connectTimeoutMs?: number;
  /** Reconnect when the oldest frame in flight is not acked within this long. Default 15000. */
  ackTimeoutMs?: number;
  /** Connect in the constructor. Default true. */
  autoConnect?: boolean;
  /** Where the offline queue lives. Default localStorage (memory when it is unavailable). */
  storage?: QueueStorage;
  /** Key prefix of the offline queue. Default "respawn:<url without token>:". */
  storageKey?: string;
  onAck?: (ack: Ack) => void;
  onRejected?: (rejection: Rejection) => void;
  /** Events dropped unsent: the queue passed its bound, or storage was full. */
  onDropped?: (events: RespawnEvent[], reason: "queue_full" | "storage_full") => void;
  onStatus?: (status: Status) => void;
  /** Problems that lose nothing by themselves (rate limits, storage errors, odd replies). */
  onError?: (error: Error & { code?: RefusalCode }) => void;
}

export declare class RespawnClient {
  constructor(options: RespawnClientOptions);
  // Each event method takes the event's own v1 fields in camelCase, checks the event with the
  // server's rules (throwing RespawnValidationError, nothing queued) and returns it as queued.
  /** Starts a new session (new session_id) and queues its session_start. */
  sessionStart(options: { isNewUser: boolean; entryPoint: EntryPoint }): SessionStartEvent;
  /** Queues a match_played of the current session; matchId defaults to a fresh UUID. */
  matchPlayed(options: {
    matchId?: string;
    matchDurationSec: number;
    result: MatchResult;
    opponentType: OpponentType;
  }): MatchPlayedEvent;
  /** Queues a disconnect; timeSinceSessionStartSec defaults to the seconds since sessionStart. */
  disconnect(options: {
    disconnectReason: DisconnectReason;
    timeSinceSessionStartSec?: number;
  }): DisconnectEvent;
  readonly sessionId: string | null;
  /** Events not yet covered by an ack. */
  readonly pendingCount: number;
  readonly state: "connecting" | "open" | "closed";
  connect(): void;
  /** Sends what is queued; true once all of it is acked, false on timeout or close. */
  flush(options?: { timeoutMs?: number }): Promise<boolean>;
  /** Stops; what is still queued stays in storage for the next client of this origin. */
  close(): void;
}

export declare function validateEvent(
  event: unknown,
): { status: "valid" | "unknown" } | { status: "rejected"; failure: Failure };
export declare function isUuid(value: unknown): boolean;
export declare function isTimestamp(value: unknown): boolean;
export declare function eventBytes(event: unknown): number;
/** crypto.randomUUID(), or the same from crypto.getRandomValues outside secure contexts. */
export declare function uuid4(): string;
export declare function backoffDelay(
  attempt: number,
  backoff?: { initialMs?: number; maxMs?: number },
  random?: () => number,
): number;
