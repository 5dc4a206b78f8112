// The database schema as ordered migrations, in plain SQL common to SQLite, D1 and libSQL
// (no PRAGMAs, nothing driver-specific). Never edit a released migration: append a new one.

export interface Migration {
  version: number
  statements: string[]
}

/** Created before any migration runs, so the runner can tell which versions are applied. */
export const CREATE_MIGRATIONS_TABLE =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)'

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      // Rows are appended in ingest order, so rowid order is time order: purge relies on it
      // instead of an index on ingested_at. One index only, on ts: telemetry arrives roughly in
      // time order, so its inserts land on the last index page. An index led by device_id would
      // dirty a page per device on every batch (measured: inserts 2.7x slower with 100 devices).
      // The index ends with the rowid, so it serves ORDER BY ts, id; device is only a filter.
      `CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        ingested_at INTEGER NOT NULL,
        level TEXT,
        score REAL NOT NULL,
        kinds TEXT NOT NULL, -- comma separated, '' when none
        body TEXT NOT NULL
      )`,
      'CREATE INDEX records_ts ON records (ts)',

      `CREATE TABLE anomalies (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        metric TEXT,
        value REAL,
        score REAL NOT NULL,
        detail TEXT,
        created_at INTEGER NOT NULL
      )`,
      // Each index ends with the rowid, so both serve ORDER BY ts DESC, id DESC.
      'CREATE INDEX anomalies_ts ON anomalies (ts)',
      'CREATE INDEX anomalies_device_ts ON anomalies (device_id, ts)',

      // Features are nullable because SQLite stores NaN as NULL (read back as NaN).
      // Indexed on "end" alone, for the same reason as records: appends stay at the index's end.
      `CREATE TABLE windows (
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        count INTEGER NOT NULL,
        mean REAL,
        std REAL,
        min REAL,
        max REAL,
        "range" REAL,
        created_at INTEGER NOT NULL
      )`,
      'CREATE INDEX windows_end ON windows ("end")',

      `CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        last_ts INTEGER NOT NULL,
        record_count INTEGER NOT NULL,
        anomaly_count INTEGER NOT NULL
      )`,

      `CREATE TABLE series (
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        state BLOB NOT NULL,
        last_ts INTEGER NOT NULL,
        sample_count INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (device_id, metric)
      )`,

      `CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        position TEXT NOT NULL,
        reason TEXT NOT NULL,
        content_type TEXT NOT NULL,
        raw TEXT NOT NULL
      )`,

      `CREATE TABLE idempotency (
        "key" TEXT PRIMARY KEY,
        status INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at INTEGER NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    statements: [
      // Optimistic concurrency for detector state: a writer stores version + 1 of the version it
      // read, and these triggers abort the whole commit when the row moved on meanwhile (another
      // process or instance committed first) or was deleted (purged). AFTER INSERT, because a
      // BEFORE INSERT trigger would also fire for the upsert that turns into an update.
      'ALTER TABLE series ADD COLUMN version INTEGER NOT NULL DEFAULT 0',
      `CREATE TRIGGER series_insert_version AFTER INSERT ON series WHEN NEW.version <> 1
        BEGIN SELECT RAISE(ABORT, 'edgewatch: series state conflict'); END`,
      `CREATE TRIGGER series_update_version BEFORE UPDATE ON series WHEN NEW.version <> OLD.version + 1
        BEGIN SELECT RAISE(ABORT, 'edgewatch: series state conflict'); END`,
      // The sha256 of the body an idempotent answer answered: the same key with another body is refused.
      'ALTER TABLE idempotency ADD COLUMN body_hash TEXT',
      // A dead letter whose raw input was cut keeps the whole input's size and sha256.
      'ALTER TABLE dead_letters ADD COLUMN raw_bytes INTEGER',
      'ALTER TABLE dead_letters ADD COLUMN raw_sha256 TEXT',
    ],
  },
  {
    version: 3,
    statements: [
      // The fleet: a device that enrolled has a public key (unmanaged devices, known only from their
      // records, have none). Status is derived when read (fleet-sql.ts), from these times.
      'ALTER TABLE devices ADD COLUMN name TEXT',
      'ALTER TABLE devices ADD COLUMN labels TEXT', // a JSON object of strings; NULL for none
      'ALTER TABLE devices ADD COLUMN public_key TEXT', // the device's ECDSA P-256 public key, a JWK
      'ALTER TABLE devices ADD COLUMN thumbprint TEXT', // RFC 7638 thumbprint of that key
      'ALTER TABLE devices ADD COLUMN enrolled_at INTEGER',
      'ALTER TABLE devices ADD COLUMN enrolment_token_id TEXT',
      'ALTER TABLE devices ADD COLUMN revoked_at INTEGER',
      'ALTER TABLE devices ADD COLUMN goodbye_at INTEGER',
      'ALTER TABLE devices ADD COLUMN last_heartbeat INTEGER',
      'ALTER TABLE devices ADD COLUMN agent_version TEXT',
      'ALTER TABLE devices ADD COLUMN heartbeat TEXT', // the last heartbeat's body, JSON
      'ALTER TABLE devices ADD COLUMN unreachable_at INTEGER', // when going silent was last noted
      'CREATE UNIQUE INDEX devices_thumbprint ON devices (thumbprint) WHERE thumbprint IS NOT NULL',

      // Enrolment tokens are stored hashed. The trigger makes a use past max_uses, of a revoked token
      // or of an expired one abort the whole enrolment, however many writers race for the last use.
      `CREATE TABLE enrolment_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        labels TEXT NOT NULL,
        max_uses INTEGER NOT NULL,
        uses INTEGER NOT NULL DEFAULT 0,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_used_at INTEGER
      )`,
      `CREATE TRIGGER enrolment_token_use BEFORE UPDATE OF uses ON enrolment_tokens
        WHEN NEW.uses > OLD.max_uses OR OLD.revoked_at IS NOT NULL OR OLD.expires_at <= NEW.last_used_at
        BEGIN SELECT RAISE(ABORT, 'edgewatch: enrolment token refused'); END`,

      // Single-use challenges a device signs to get a short-lived token; tokens stored hashed.
      `CREATE TABLE device_challenges (
        challenge TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      )`,
      'CREATE INDEX device_challenges_device ON device_challenges (device_id)',
      `CREATE TABLE device_tokens (
        token_hash TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      )`,
      'CREATE INDEX device_tokens_device ON device_tokens (device_id)',

      // What happened to a device: enrolled, connected, unreachable, disconnected, revoked, updated.
      `CREATE TABLE device_events (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT
      )`,
      'CREATE INDEX device_events_device ON device_events (device_id, id)',
    ],
  },
  {
    version: 4,
    statements: [
      // Apps: a release (name, version) with its limits; its bytes are stored once per sha256.
      `CREATE TABLE apps (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        memory_pages INTEGER NOT NULL,
        fuel INTEGER NOT NULL,
        tick_ms INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        max_restarts INTEGER NOT NULL,
        telemetry TEXT NOT NULL,
        imports TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (name, version)
      )`,
      'CREATE TABLE app_blobs (sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL)',

      // Deployments: a release to a set of devices (fixed when it is made), batch by batch.
      `CREATE TABLE deployments (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        app_id TEXT NOT NULL,
        app_name TEXT NOT NULL,
        target TEXT NOT NULL,
        rollout TEXT NOT NULL,
        state TEXT NOT NULL,
        batch INTEGER NOT NULL,
        batch_done_at INTEGER,
        reason TEXT,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      'CREATE INDEX deployments_app ON deployments (app_id)',
      'CREATE INDEX deployments_state ON deployments (state)',
      // One row per device of a deployment: its batch, the release it ran before, what it reports.
      `CREATE TABLE deployment_devices (
        deployment_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        batch INTEGER NOT NULL,
        previous_app_id TEXT,
        state TEXT NOT NULL,
        reason TEXT,
        running_at INTEGER,
        reported_at INTEGER,
        PRIMARY KEY (deployment_id, device_id)
      )`,
      'CREATE INDEX deployment_devices_device ON deployment_devices (device_id)',
    ],
  },
  {
    version: 5,
    statements: [
      // What each device sent, per minute of arrival, for the fleet list's "last hour". The devices
      // row, which every ingest commit upserts anyway, counts the current minute (act_*); when a
      // later minute starts, the trigger appends the closed one to activity. So a commit writes no
      // extra row per device (a separate upserted table measured 2x slower commits for batches of
      // 1,000 devices), activity grows by one row per device and minute, appended in time order,
      // and a device's last hour is its row plus at most 59 rows from the activity index.
      'ALTER TABLE devices ADD COLUMN act_minute INTEGER', // the current minute's start, epoch ms
      'ALTER TABLE devices ADD COLUMN act_records INTEGER',
      'ALTER TABLE devices ADD COLUMN act_anomalies INTEGER',
      `CREATE TABLE activity (
        device_id TEXT NOT NULL,
        minute INTEGER NOT NULL,
        records INTEGER NOT NULL,
        anomalies INTEGER NOT NULL
      )`,
      'CREATE INDEX activity_device ON activity (device_id, minute)',
      `CREATE TRIGGER devices_activity_roll AFTER UPDATE OF act_minute ON devices
        WHEN OLD.act_minute IS NOT NULL AND NEW.act_minute > OLD.act_minute
        BEGIN INSERT INTO activity (device_id, minute, records, anomalies)
          VALUES (OLD.device_id, OLD.act_minute, OLD.act_records, OLD.act_anomalies); END`,
    ],
  },
  {
    version: 6,
    statements: [
      // Records in chunks (store/chunks.ts): one row per device, commit and hour of record time, its
      // records as JSON columns. Rows are appended in commit order, so rowid order is ingest order
      // (purge relies on it, as it did on records). Two indexes, one entry per chunk each: by time
      // (export in time order) and by device and time (a device's series, a device's export).
      `CREATE TABLE record_chunks (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        ts_min INTEGER NOT NULL,
        ts_max INTEGER NOT NULL, -- less than an hour after ts_min
        ingested_at INTEGER NOT NULL,
        count INTEGER NOT NULL,
        commit_seq INTEGER NOT NULL, -- a record's id is commit_seq * 65536 + its position
        data TEXT NOT NULL -- {"pos":[...],"ts":[...],"level":[...],"score":[...],"kinds":[...]}, then the bodies
      )`,
      // The commit sequence: each commit takes the next number (BUMP_RECORD_SEQ) before its chunks.
      'CREATE TABLE record_seq (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL)',
      // Existing records move into chunks keeping their ids (commit_seq = id >> 16, position =
      // id & 65535), so every export answers exactly as before: grouped by device, hour, ingest time
      // and id >> 16, cut every 256 Ki characters of bodies, inserted in id order. Scores go through
      // printf('%!.17g'), which round-trips a double (SQLite's JSON functions print 15 digits).
      // Bodies follow the columns one per line, or, should one hold a newline, as a JSON array.
      `INSERT INTO record_chunks (device_id, ts_min, ts_max, ingested_at, count, commit_seq, data)
        SELECT device_id, min(ts), max(ts), ingested_at, count(*), id >> 16,
          '{"pos":' || json_group_array(id & 65535) || ',"ts":' || json_group_array(ts) ||
          ',"level":' || json_group_array(level) ||
          ',"score":[' || group_concat(printf('%!.17g', score), ',') || ']' ||
          ',"kinds":' || json_group_array(kinds) ||
          CASE WHEN max(instr(body, char(10))) > 0 THEN ',"body":' || json_group_array(body) || '}'
            ELSE '}' || char(10) || group_concat(body, char(10)) END
        FROM (
          SELECT *, sum(length(body)) OVER (PARTITION BY device_id, hour, ingested_at, id >> 16 ORDER BY id)
            - length(body) AS chars_before
          FROM (SELECT *, CASE WHEN ts < 0 THEN (ts + 1) / 3600000 - 1 ELSE ts / 3600000 END AS hour FROM records)
        )
        GROUP BY device_id, hour, ingested_at, id >> 16, chars_before / 262144
        ORDER BY min(id)`,
      // New commits number on from the last one.
      'INSERT INTO record_seq (id, next) SELECT 1, ifnull(max(id) >> 16, 0) FROM records',
      'DROP TABLE records',
      'CREATE INDEX record_chunks_ts ON record_chunks (ts_min)',
      'CREATE INDEX record_chunks_device ON record_chunks (device_id, ts_min)',
    ],
  },
]
