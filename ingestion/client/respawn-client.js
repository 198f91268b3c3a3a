// respawn browser client: emit v1 game events to a `respawn serve` ingestor over a WebSocket.
//
// Guarantee: an event stays queued (in memory and in localStorage) until an ack of the ingestor
// covers it; the ingestor acks only after the event is durably landed. Frames lost in a
// disconnect are re-sent with the same batch_id and event ids, and the platform dedupes on
// event_id, so delivery is at-least-once and the warehouse sees each event once.
//
// No build step and no dependencies: import this file as an ES module. The rules come from
// `contract.js`, generated from ingestion/contract.py (the same rules as the server).

import { CONTRACT } from "./contract.js";

export { CONTRACT };
export const SCHEMA_VERSION = CONTRACT.schema_version;
/** Stable refusal codes, identical to the server's (`ingestion.contract.Code`). */
export const Code = Object.freeze({ ...CONTRACT.codes });

const STORAGE_FORMAT = 1;
const HEARTBEAT_MS = 5_000;
// A slot whose tab has not written a heartbeat for this long belongs to a closed or crashed tab.
// Background tabs may throttle timers to once a minute, hence the margin.
const STALE_MS = 90_000;

// ---------------------------------------------------------------------------------------------
// Validation: a line-by-line mirror of `validate_event` in ingestion/contract.py.

/** Thrown by the event methods when an event breaks the v1 rules; nothing was queued. */
export class RespawnValidationError extends Error {
  constructor(failure, event) {
    super(failure.message);
    this.name = "RespawnValidationError";
    this.code = failure.code;
    this.field = failure.field;
    this.event = event;
  }
}

const UUID_RE = new RegExp(`^(?:${CONTRACT.uuid_pattern})$`);
const TIMESTAMP_RE = new RegExp(`^(?:${CONTRACT.timestamp_pattern})$`);
const encoder = new TextEncoder();

/** A random (v4) UUID. crypto.randomUUID needs a secure context (https, localhost); a game
 * served over plain http elsewhere gets the same from crypto.getRandomValues. */
export function uuid4() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  const part = (a, z) => hex.slice(a, z);
  return `${part(0, 8)}-${part(8, 12)}-${part(12, 16)}-${part(16, 20)}-${part(20, 32)}`;
}

const hasOwn = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

function fail(code, field, message) {
  return { code, field, message };
}

function codePoints(s) {
  let n = 0;
  for (const _ of s) n += 1; // Python's len() counts code points, JS's .length UTF-16 units
  return n;
}

function daysInMonth(year, month) {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** The contract's shape check plus the calendar checks Python's datetime.fromisoformat makes. */
export function isTimestamp(value) {
  if (typeof value !== "string" || !TIMESTAMP_RE.test(value)) return false;
  const num = (a, b) => Number(value.slice(a, b));
  const [year, month, day] = [num(0, 4), num(5, 7), num(8, 10)];
  const [hour, minute, second] = [num(11, 13), num(14, 16), num(17, 19)];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return false;
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (!value.endsWith("Z")) {
    // the zone is the last six characters, `+HH:MM`; Python only needs |offset| < 24 h
    const offsetMinutes = num(value.length - 5, value.length - 3) * 60 + num(value.length - 2);
    if (offsetMinutes >= 24 * 60) return false;
  }
  return true;
}

export function isUuid(value) {
  return typeof value === "string" && UUID_RE.test(value);
}

function isJsonInteger(value) {
  // JSON.stringify writes 1e21 and above in exponent form, which the server reads as a float
  return Number.isInteger(value) && Math.abs(value) < 1e21;
}

function checkField(spec, value) {
  const { name, kind } = spec;
  if (kind === "boolean") {
    if (typeof value === "boolean") return null;
    return fail(Code.WRONG_TYPE, name, `${name} must be a JSON boolean`);
  }
  if (kind === "integer") {
    if (!isJsonInteger(value)) {
      return fail(Code.WRONG_TYPE, name, `${name} must be a JSON integer`);
    }
    if (value < spec.minimum || (spec.maximum !== null && value > spec.maximum)) {
      return fail(
        Code.OUT_OF_RANGE,
        name,
        `${name} must be between ${spec.minimum} and ${spec.maximum}, got ${value}`,
      );
    }
    return null;
  }
  if (typeof value !== "string") {
    return fail(Code.WRONG_TYPE, name, `${name} must be a JSON string`);
  }
  if (codePoints(value) > spec.max_length) {
    const message = `${name} is longer than ${spec.max_length} characters`;
    return fail(Code.STRING_TOO_LONG, name, message);
  }
  if (kind === "uuid") {
    if (!UUID_RE.test(value)) return fail(Code.INVALID_UUID, name, `${name} must be a UUID`);
  } else if (kind === "timestamp") {
    if (!isTimestamp(value)) {
      return fail(
        Code.INVALID_TIMESTAMP,
        name,
        `${name} must be ISO 8601 with a zone, e.g. 2026-01-30T18:12:45Z`,
      );
    }
  } else if ((kind === "enum" || kind === "const") && !spec.values.includes(value)) {
    return fail(
      Code.INVALID_VALUE,
      name,
      `${name} must be one of ${spec.values.join(" / ")}, got ${JSON.stringify(value)}`,
    );
  }
  return null;
}

function checkFields(event, specs) {
  for (const spec of specs) {
    // a key whose value is undefined is dropped by JSON.stringify: the server sees it missing
    if (!hasOwn(event, spec.name) || event[spec.name] === undefined) {
      return fail(Code.MISSING_FIELD, spec.name, `${spec.name} is required`);
    }
    const failure = checkField(spec, event[spec.name]);
    if (failure) return failure;
  }
  return null;
}

/** Encoded size of an event, as the server measures it (compact JSON, UTF-8). */
export function eventBytes(event) {
  return encoder.encode(JSON.stringify(event)).length;
}

/**
 * Check one event as the ingestor will. Returns `{status: "valid" | "unknown" | "rejected",
 * failure?: {code, field, message}}`; `unknown` means valid base fields but an event name or
 * version this contract does not know (the server lands those, marked unknown).
 */
export function validateEvent(event) {
  if (event === null || typeof event !== "object" || Array.isArray(event)) {
    const failure = fail(Code.NOT_AN_OBJECT, null, "an event must be a JSON object");
    return { status: "rejected", failure };
  }
  const size = eventBytes(event);
  if (size > CONTRACT.max_event_bytes) {
    return {
      status: "rejected",
      failure: fail(
        Code.EVENT_TOO_LARGE,
        null,
        `event is ${size} bytes; the limit is ${CONTRACT.max_event_bytes}`,
      ),
    };
  }
  let failure = checkFields(event, CONTRACT.base_fields);
  if (failure) return { status: "rejected", failure };
  const type = hasOwn(CONTRACT.event_types, event.event_name)
    ? CONTRACT.event_types[event.event_name]
    : undefined;
  if (type === undefined || event.event_version !== CONTRACT.schema_version) {
    return { status: "unknown" };
  }
  failure = checkFields(event, type.fields);
  return failure ? { status: "rejected", failure } : { status: "valid" };
}

// ---------------------------------------------------------------------------------------------
// Reconnect delays.

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so that many clients cut off together do not return together.
 */
export function backoffDelay(attempt, backoff = {}, random = Math.random) {
  const { initialMs = 500, maxMs = 30_000 } = backoff;
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (random() * ceiling) / 2;
}

// ---------------------------------------------------------------------------------------------
// Offline queue in localStorage.
//
// Each page instance owns one slot, `<prefix>q:<id>` (the queue) with `<prefix>alive:<id>` (a
// heartbeat, or "released" after pagehide), so that two tabs never overwrite each other's events.
// A slot that is released or stale is adopted by the next client that starts (a reload, another
// tab): its events keep their batch ids and are sent again.

class SlotStore {
  constructor(storage, prefix) {
    this.storage = storage;
    this.prefix = prefix;
    this.id = uuid4();
    this.queueKey = `${prefix}q:${this.id}`;
    this.aliveKey = `${prefix}alive:${this.id}`;
    this.released = false;
  }

  /** Mark the slot as belonging to a live page (only a non-empty slot has keys at all). */
  heartbeat() {
    this.released = false;
    if (this.storage.getItem(this.queueKey) !== null) {
      this.storage.setItem(this.aliveKey, String(Date.now()));
    }
  }

  /** Let the next page adopt the slot right away (it would wait for staleness otherwise). */
  release() {
    this.released = true;
    if (this.storage.getItem(this.queueKey) !== null) {
      this.storage.setItem(this.aliveKey, "released");
    }
  }

  /** Write the queue; an empty queue removes the slot. Throws QuotaExceededError when full. */
  save(state) {
    if (state.batches.length === 0 && state.open.length === 0) {
      this.storage.removeItem(this.queueKey);
      this.storage.removeItem(this.aliveKey);
      return;
    }
    this.storage.setItem(this.queueKey, JSON.stringify({ v: STORAGE_FORMAT, ...state }));
    this.storage.setItem(this.aliveKey, this.released ? "released" : String(Date.now()));
  }

  /** Queues of released or stale slots: `{keys, states, corrupt}`. The caller removes `keys`
   * only after it has saved the merged queue, so a crash in between loses nothing. */
  orphans(now = Date.now()) {
    const queuePrefix = `${this.prefix}q:`;
    const keys = [];
    for (let i = 0; i < this.storage.length; i += 1) {
      const key = this.storage.key(i);
      if (key !== null && key.startsWith(queuePrefix) && key !== this.queueKey) keys.push(key);
    }
    const found = { keys: [], states: [], corrupt: 0 };
    for (const key of keys) {
      const aliveKey = `${this.prefix}alive:${key.slice(queuePrefix.length)}`;
      const alive = this.storage.getItem(aliveKey);
      if (alive !== null && alive !== "released" && now - Number(alive) < STALE_MS) continue;
      found.keys.push(key, aliveKey);
      try {
        const state = JSON.parse(this.storage.getItem(key));
        const known = state?.v === STORAGE_FORMAT && Array.isArray(state.batches);
        if (!known || !Array.isArray(state.open)) throw new Error("unknown format");
        found.states.push(state);
      } catch {
        found.corrupt += 1;
      }
    }
    return found;
  }

  remove(keys) {
    for (const key of keys) this.storage.removeItem(key);
  }
}

function memoryStorage() {
  const map = new Map();
  return {
    get length() {
      return map.size;
    },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
  };
}

function defaultStorage() {
  try {
    const storage = globalThis.localStorage;
    const probe = "respawn:probe";
    storage.setItem(probe, "1");
    storage.removeItem(probe);
    return storage;
  } catch {
    return null; // private mode, sandboxed iframe, worker
  }
}

function isQuotaError(error) {
  return (
    error instanceof DOMException && (error.name === "QuotaExceededError" || error.code === 22)
  );
}

// ---------------------------------------------------------------------------------------------
// The client.

// The options of an event method are the event's own fields in camelCase, taken from the
// contract: matchPlayed({ matchDurationSec }) fills match_duration_sec.
const camelCase = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const OPTION_FIELDS = Object.fromEntries(
  Object.entries(CONTRACT.event_types).map(([name, type]) => [
    name,
    Object.fromEntries(type.fields.map((f) => [camelCase(f.name), f.name])),
  ]),
);

function pickFields(eventName, options) {
  const mapping = OPTION_FIELDS[eventName];
  const fields = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (!hasOwn(mapping, key)) {
      const expected = Object.keys(mapping).join(", ");
      const option = JSON.stringify(key);
      throw new TypeError(`${eventName}: unknown option ${option}; expected ${expected}`);
    }
    if (value !== undefined) fields[mapping[key]] = value; // undefined: the default applies
  }
  return fields;
}

function withToken(url, token) {
  const u = new URL(url);
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new TypeError(`url must be ws:// or wss://, got ${JSON.stringify(url)}`);
  }
  if (token !== undefined && token !== null && token !== "") u.searchParams.set("token", token);
  return u.toString();
}

function withoutToken(url) {
  const u = new URL(url);
  u.searchParams.delete("token");
  return u.toString();
}

export class RespawnClient {
  #o;
  #url;
  #store;
  #socket = null;
  #state = "closed";
  #batches = []; // sealed: {batch_id, events, inFlight}; sent in this order
  #open = []; // events not yet in a batch
  #openBytes = 0;
  #inFlight = []; // batch ids sent on the current socket, in send order (acks come in order)
  #session = null;
  #attempt = 0;
  #pausedUntil = 0;
  #rateLimits = 0; // rate_limited replies in a row
  #timers = { seal: null, reconnect: null, connect: null, ack: null, pump: null, beat: null };
  #waiters = [];
  #closed = false;
  #persistQueued = false;
  #listeners = [];

  /**
   * @param {object} options see respawn-client.d.ts (RespawnClientOptions)
   */
  constructor(options) {
    const o = {
      batchSize: 50,
      batchMaxAgeMs: 1_000,
      maxBatchBytes: Math.floor(CONTRACT.max_frame_bytes / 2),
      maxQueuedEvents: 10_000,
      maxInFlight: 8,
      backoff: {},
      connectTimeoutMs: 10_000,
      ackTimeoutMs: 15_000,
      autoConnect: true,
      ...options,
    };
    o.backoff = { initialMs: 500, maxMs: 30_000, ...o.backoff };
    if (!o.url) throw new TypeError("RespawnClient: `url` is required, e.g. ws://127.0.0.1:8765/");
    if (!(o.batchSize >= 1 && o.batchSize <= CONTRACT.max_batch_events)) {
      throw new RangeError(`batchSize must be between 1 and ${CONTRACT.max_batch_events}`);
    }
    // room for one largest event, and for the envelope under the ingestor's frame limit
    const [low, high] = [CONTRACT.max_event_bytes, CONTRACT.max_frame_bytes - 1024];
    if (!(o.maxBatchBytes > low && o.maxBatchBytes < high)) {
      throw new RangeError(`maxBatchBytes must be between ${low} and ${high}`);
    }
    // fail at construction, not at the first event, on a user id or version the server refuses
    for (const [name, value] of [["user_id", o.userId], ["client_version", o.clientVersion]]) {
      const failure =
        value === undefined
          ? fail(Code.MISSING_FIELD, name, `${name} is required`)
          : checkField(CONTRACT.base_fields.find((f) => f.name === name), value);
      if (failure) throw new RespawnValidationError(failure, null);
    }
    this.#o = o;
    this.#url = withToken(o.url, o.token);
    let storage = o.storage ?? defaultStorage();
    if (storage === null) {
      storage = memoryStorage();
      const why = "localStorage is unavailable: the offline queue lives in memory only";
      this.#call("onError", new Error(why));
    }
    this.#store = new SlotStore(storage, o.storageKey ?? `respawn:${withoutToken(o.url)}:`);
    this.#startHeartbeat(); // adopts what an earlier page (a reload, a closed tab) left queued
    this.#listen();
    if (o.autoConnect) this.connect();
  }

  // -- public API ------------------------------------------------------------------------------

  /** Start a new session (isNewUser, entryPoint): a fresh session_id is used by every later
   * event. Returns the event. */
  sessionStart(options) {
    const session = { id: uuid4(), startedAt: Date.now() };
    const event = this.#queue("session_start", session.id, pickFields("session_start", options));
    this.#session = session;
    return event;
  }

  /** A match ended (matchDurationSec, result, opponentType; matchId defaults to a fresh UUID).
   * Returns the event. */
  matchPlayed(options) {
    const fields = { match_id: uuid4(), ...pickFields("match_played", options) };
    return this.#queue("match_played", this.#session?.id, fields);
  }

  /** The user disconnected (disconnectReason); `timeSinceSessionStartSec` defaults to the
   * seconds since sessionStart. Returns the event. */
  disconnect(options) {
    const fields = pickFields("disconnect", options);
    if (!("time_since_session_start_sec" in fields) && this.#session) {
      const elapsed = Date.now() - this.#session.startedAt;
      fields.time_since_session_start_sec = Math.max(0, Math.floor(elapsed / 1000));
    }
    return this.#queue("disconnect", this.#session?.id, fields);
  }

  /** The current session id (null before sessionStart). */
  get sessionId() {
    return this.#session?.id ?? null;
  }

  /** Events not yet covered by an ack (queued, batched or in flight). */
  get pendingCount() {
    return this.#open.length + this.#batches.reduce((n, b) => n + b.events.length, 0);
  }

  /** "connecting" | "open" | "closed" */
  get state() {
    return this.#state;
  }

  /** Open the connection now (the constructor does it unless `autoConnect: false`). */
  connect() {
    if (this.#closed || this.#socket !== null) return;
    clearTimeout(this.#timers.reconnect);
    this.#timers.reconnect = null;
    this.#setState("connecting");
    let socket;
    try {
      socket = new WebSocket(this.#url);
    } catch (error) {
      this.#call("onError", error);
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => this.#onOpen();
    socket.onmessage = (message) => this.#onMessage(message.data);
    socket.onclose = (ev) => this.#onClose(ev.code, ev.reason);
    const timeout = this.#o.connectTimeoutMs;
    this.#timers.connect = setTimeout(() => this.#drop("connect timeout"), timeout);
  }

  /**
   * Send everything queued now. Resolves `true` once every event queued before the call is
   * acked (or refused), `false` after `timeoutMs` or when the client is closed first.
   */
  flush({ timeoutMs } = {}) {
    this.#seal();
    this.#persist();
    this.#pump();
    const ids = new Set(this.#batches.map((b) => b.batch_id));
    if (ids.size === 0) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = { ids, resolve, timer: null };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => this.#settleWaiter(waiter, false), timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  /** Stop sending. Queued events stay in localStorage for the next client on this origin. */
  close() {
    if (this.#closed) return;
    this.#seal();
    this.#persist();
    this.#closed = true;
    for (const timer of Object.values(this.#timers)) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    for (const [target, type, fn] of this.#listeners) target.removeEventListener(type, fn);
    this.#listeners = [];
    this.#drop("client closed", false);
    this.#release();
    for (const waiter of [...this.#waiters]) this.#settleWaiter(waiter, false);
    this.#setState("closed");
  }

  // -- queueing --------------------------------------------------------------------------------

  #queue(eventName, sessionId, fields) {
    if (this.#closed) throw new Error("RespawnClient is closed");
    const event = {
      event_name: eventName,
      event_version: CONTRACT.schema_version,
      event_id: uuid4(),
      user_id: this.#o.userId,
      ...(sessionId ? { session_id: sessionId } : {}),
      timestamp: new Date().toISOString(),
      client_version: this.#o.clientVersion,
      platform: CONTRACT.platform,
      ...fields,
    };
    const verdict = validateEvent(event);
    if (verdict.status === "rejected") {
      const failure = verdict.failure;
      if (failure.field === "session_id" && failure.code === Code.MISSING_FIELD) {
        failure.message = "session_id is required: call sessionStart() first";
      }
      throw new RespawnValidationError(failure, event);
    }
    const size = eventBytes(event);
    if (this.#open.length > 0 && this.#openBytes + size + 1 > this.#o.maxBatchBytes) {
      this.#seal(); // the frame would pass maxBatchBytes: this event starts the next batch
    }
    this.#open.push(event);
    this.#openBytes += size + 1;
    if (this.#open.length >= this.#o.batchSize) {
      this.#seal();
    } else if (this.#timers.seal === null) {
      this.#timers.seal = setTimeout(() => {
        this.#timers.seal = null;
        this.#seal();
        this.#persist();
        this.#pump();
      }, this.#o.batchMaxAgeMs);
    }
    this.#enforceBound();
    this.#persistSoon();
    this.#pump();
    return event;
  }

  #seal() {
    clearTimeout(this.#timers.seal);
    this.#timers.seal = null;
    if (this.#open.length === 0) return;
    this.#batches.push({ batch_id: uuid4(), events: this.#open, inFlight: false });
    this.#open = [];
    this.#openBytes = 0;
  }

  /** Drop the oldest events past `count` (never one in flight: its ack is on its way). */
  #dropOldest(count, reason) {
    const dropped = [];
    for (const batch of this.#batches) {
      if (dropped.length >= count) break;
      if (batch.inFlight) continue;
      dropped.push(...batch.events.splice(0, count - dropped.length));
    }
    if (dropped.length < count) {
      const n = count - dropped.length;
      dropped.push(...this.#open.splice(0, n));
      this.#openBytes = this.#open.reduce((s, e) => s + eventBytes(e) + 1, 0);
    }
    this.#batches = this.#batches.filter((b) => b.events.length > 0 || b.inFlight);
    if (dropped.length > 0) this.#call("onDropped", dropped, reason);
    return dropped.length;
  }

  #enforceBound() {
    const excess = this.pendingCount - this.#o.maxQueuedEvents;
    if (excess > 0) this.#dropOldest(excess, "queue_full");
  }

  #snapshot() {
    return {
      batches: this.#batches.map((b) => ({ batch_id: b.batch_id, events: b.events })),
      open: this.#open,
    };
  }

  /** Persist at the end of the current task: a burst of events is written once, not once per
   * event (the queue is rewritten whole, so per-event writes would cost O(n^2)). */
  #persistSoon() {
    if (this.#persistQueued) return;
    this.#persistQueued = true;
    queueMicrotask(() => {
      if (this.#persistQueued) this.#persist();
    });
  }

  #persist() {
    this.#persistQueued = false;
    for (;;) {
      try {
        this.#store.save(this.#snapshot());
        return;
      } catch (error) {
        if (!isQuotaError(error)) {
          this.#call("onError", error);
          return;
        }
        // storage is full: give up the oldest tenth and retry, as the bound would
        const n = Math.max(1, Math.floor(this.pendingCount / 10));
        if (this.#dropOldest(n, "storage_full") === 0) {
          this.#call("onError", error);
          return;
        }
      }
    }
  }

  #adopt() {
    const found = this.#store.orphans();
    if (found.keys.length === 0) return;
    if (found.corrupt > 0) {
      const why = `${found.corrupt} unreadable offline queue(s) in storage were discarded`;
      this.#call("onError", new Error(why));
    }
    const adopted = [];
    for (const state of found.states) {
      // sealed batches keep their batch_id: they may have reached the server already
      for (const b of state.batches) {
        adopted.push({ batch_id: b.batch_id, events: b.events, inFlight: false });
      }
      // events the other page never sealed were never sent: they get batches of their own
      adopted.push(...this.#chunk(state.open));
    }
    this.#batches = [...adopted, ...this.#batches]; // theirs are older than ours
    this.#enforceBound();
    this.#persist();
    this.#store.remove(found.keys);
  }

  /** Split events into new batches within batchSize and maxBatchBytes. */
  #chunk(events) {
    const batches = [];
    let current = [];
    let bytes = 0;
    for (const event of events) {
      const size = eventBytes(event) + 1;
      const full = bytes + size > this.#o.maxBatchBytes || current.length >= this.#o.batchSize;
      if (current.length > 0 && full) {
        batches.push({ batch_id: uuid4(), events: current, inFlight: false });
        current = [];
        bytes = 0;
      }
      current.push(event);
      bytes += size;
    }
    if (current.length > 0) {
      batches.push({ batch_id: uuid4(), events: current, inFlight: false });
    }
    return batches;
  }

  // -- sending ---------------------------------------------------------------------------------

  #pump(final = false) {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) return;
    const wait = this.#pausedUntil - Date.now();
    if (wait > 0 && !final) {
      if (this.#timers.pump === null) {
        this.#timers.pump = setTimeout(() => {
          this.#timers.pump = null;
          this.#pump();
        }, wait);
      }
      return;
    }
    for (const batch of this.#batches) {
      if (!final && this.#inFlight.length >= this.#o.maxInFlight) break;
      if (batch.inFlight) continue;
      const frame = JSON.stringify({
        batch_id: batch.batch_id,
        sent_at: new Date().toISOString(),
        events: batch.events,
      });
      try {
        socket.send(frame);
      } catch (error) {
        this.#call("onError", error);
        return;
      }
      batch.inFlight = true;
      this.#inFlight.push(batch.batch_id);
      if (this.#timers.ack === null) this.#armAckTimer();
    }
  }

  #armAckTimer() {
    clearTimeout(this.#timers.ack);
    this.#timers.ack = this.#inFlight.length
      ? setTimeout(() => this.#drop("no ack within ackTimeoutMs"), this.#o.ackTimeoutMs)
      : null;
  }

  #onOpen() {
    clearTimeout(this.#timers.connect);
    this.#timers.connect = null;
    this.#attempt = 0;
    this.#setState("open");
    this.#adopt();
    this.#pump();
  }

  #onMessage(data) {
    let reply;
    try {
      reply = JSON.parse(data);
    } catch {
      const why = `unreadable reply from the ingestor: ${String(data).slice(0, 200)}`;
      this.#call("onError", new Error(why));
      return;
    }
    // one reply per frame, in order: it answers the oldest frame in flight
    const headId = this.#inFlight.shift();
    this.#armAckTimer();
    const id = reply.batch_id ?? headId;
    if (id !== headId) {
      const why = `reply for batch ${id} while batch ${headId} was expected first`;
      this.#call("onError", new Error(why));
      const i = this.#inFlight.indexOf(id);
      if (i >= 0) this.#inFlight.splice(i, 1);
      if (headId !== undefined) this.#inFlight.unshift(headId);
    }
    const batch = this.#batches.find((b) => b.batch_id === id);
    if (batch === undefined) return; // dropped while in flight cannot happen; a stale reply can
    if (reply.type === "ack") {
      this.#rateLimits = 0;
      this.#settle(batch, reply.rejected ?? []);
      this.#call("onAck", {
        batch_id: batch.batch_id,
        accepted: reply.accepted,
        rejected: reply.rejected ?? [],
        event_ids: batch.events.map((e) => e.event_id),
      });
    } else if (reply.type === "error" && reply.code === Code.RATE_LIMITED) {
      batch.inFlight = false; // not landed: send it again after a pause
      this.#rateLimits += 1;
      this.#pausedUntil = Date.now() + backoffDelay(this.#rateLimits, this.#o.backoff);
      const error = new Error(reply.message ?? "rate limited");
      this.#call("onError", Object.assign(error, { code: reply.code }));
    } else {
      // the whole frame was refused (and dead-lettered by the server): resending cannot help
      const { code, message = "frame refused" } = reply;
      const refusals = batch.events.map((e, index) => ({
        index,
        event_id: e.event_id,
        code,
        field: null,
        message,
      }));
      this.#settle(batch, refusals);
    }
    this.#pump();
  }

  #settle(batch, rejected) {
    this.#batches = this.#batches.filter((b) => b !== batch);
    this.#persist();
    for (const r of rejected) {
      this.#call("onRejected", {
        event: batch.events[r.index],
        code: r.code,
        field: r.field ?? null,
        message: r.message ?? "",
        batch_id: batch.batch_id,
        index: r.index,
      });
    }
    for (const waiter of [...this.#waiters]) {
      waiter.ids.delete(batch.batch_id);
      if (waiter.ids.size === 0) this.#settleWaiter(waiter, true);
    }
  }

  #settleWaiter(waiter, value) {
    clearTimeout(waiter.timer);
    this.#waiters = this.#waiters.filter((w) => w !== waiter);
    waiter.resolve(value);
  }

  #onClose(code, reason) {
    this.#detach();
    if (code === 1009) {
      const why = "the ingestor closed with 1009 (frame too big): lower maxBatchBytes";
      this.#call("onError", new Error(why));
    }
    this.#scheduleReconnect(code, reason);
  }

  /** Forget the socket now (without waiting for a close handshake on a dead network). */
  #drop(reason, reconnect = true) {
    const socket = this.#socket;
    if (socket === null) return;
    this.#detach();
    try {
      socket.close(1000, reason.slice(0, 120));
    } catch {
      // already closing
    }
    if (reconnect) this.#scheduleReconnect(1006, reason);
  }

  #detach() {
    const socket = this.#socket;
    if (socket !== null) socket.onopen = socket.onmessage = socket.onclose = null;
    this.#socket = null;
    for (const id of ["connect", "ack", "pump"]) {
      clearTimeout(this.#timers[id]);
      this.#timers[id] = null;
    }
    // whatever was in flight on that socket is unacknowledged: it goes again, same batch_id
    for (const batch of this.#batches) batch.inFlight = false;
    this.#inFlight = [];
  }

  #scheduleReconnect(code, reason) {
    if (this.#closed) return;
    const delay = backoffDelay(this.#attempt, this.#o.backoff);
    this.#attempt += 1;
    this.#setState("closed", { code, reason, retryInMs: Math.round(delay) });
    clearTimeout(this.#timers.reconnect);
    this.#timers.reconnect = setTimeout(() => {
      this.#timers.reconnect = null;
      this.connect();
    }, delay);
  }

  // -- page lifecycle --------------------------------------------------------------------------

  #listen() {
    const on = (target, type, fn) => {
      if (typeof target?.addEventListener !== "function") return;
      target.addEventListener(type, fn);
      this.#listeners.push([target, type, fn]);
    };
    // back online: try now rather than at the end of a long backoff
    on(globalThis, "online", () => {
      if (this.#socket === null && !this.#closed) {
        this.#attempt = 0;
        this.connect();
      }
    });
    // last chance before the page goes away: seal, send what the socket takes, persist, and let
    // the next page (a reload, another tab) adopt whatever is still unacknowledged
    on(globalThis, "pagehide", () => {
      this.#seal();
      this.#pump(true);
      this.#persist();
      this.#release();
    });
    on(globalThis, "pageshow", (ev) => {
      if (ev.persisted) {
        this.#startHeartbeat(); // back from the back/forward cache: the slot is ours again
        if (this.#socket === null) this.connect();
      }
    });
    on(globalThis.document, "visibilitychange", () => {
      if (globalThis.document.visibilityState === "hidden") {
        this.#seal();
        this.#persist();
        this.#pump();
      }
    });
  }

  #startHeartbeat() {
    clearInterval(this.#timers.beat);
    const beat = () => {
      try {
        this.#store.heartbeat();
        this.#adopt(); // a tab that crashed or closed meanwhile left its queue behind
      } catch (error) {
        this.#call("onError", error);
      }
    };
    beat();
    this.#timers.beat = setInterval(beat, HEARTBEAT_MS);
  }

  #release() {
    clearInterval(this.#timers.beat);
    this.#timers.beat = null;
    try {
      this.#store.release();
    } catch (error) {
      this.#call("onError", error);
    }
  }

  #setState(state, detail = {}) {
    this.#state = state;
    this.#call("onStatus", { state, ...detail });
  }

  #call(name, ...args) {
    const fn = this.#o?.[name];
    if (typeof fn !== "function") {
      if (name === "onError") console.warn("respawn:", ...args);
      return;
    }
    try {
      fn(...args);
    } catch (error) {
      console.error(`respawn: ${name} callback threw`, error); // never let it corrupt the queue
    }
  }
}
