-- agentpay on PostgreSQL, schema version 1: the engine's log, its lease and its snapshot.
-- Applied by agentpay at open, inside one transaction, with search_path set to agentpay's schema.

-- The lease of the one leader: the epoch every log row is written under (fencing). A takeover
-- bumps `epoch`; a write names the epoch it believes in and is refused once it is not current.
CREATE TABLE lease (
  id smallint PRIMARY KEY CHECK (id = 1),
  epoch bigint NOT NULL,
  -- Which node holds it (a name for operators and for standbys to point writes at).
  holder text NOT NULL,
  -- Whether the holder also holds the advisory lock: while it does, its session is its liveness.
  locked boolean NOT NULL,
  -- The holder renews this; past it, a standby may take over even without the advisory lock.
  expires_at timestamptz NOT NULL
);
INSERT INTO lease (id, epoch, holder, locked, expires_at) VALUES (1, 0, '', false, '-infinity');

-- One row per group-committed batch of the engine, in the engine's packed layout (see
-- docs/POSTGRES.md). Positions are dense: the leader writes pos = last + 1, one at a time.
CREATE TABLE log (
  pos bigint PRIMARY KEY,
  epoch bigint NOT NULL,
  ops bytea NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT now()
);
-- The batches are written once and read back whole: no compression, no in-line storage attempts.
ALTER TABLE log ALTER COLUMN ops SET STORAGE EXTERNAL;

-- The snapshot: every live record as of log position `snapshot.pos` (the log after it is replayed on
-- top at load). Kept up to date by the projector, a batch range at a time, in the transaction that
-- moves `snapshot.pos`; log rows it covers are then removed after a retention time.
CREATE TABLE snapshot (
  id smallint PRIMARY KEY CHECK (id = 1),
  pos bigint NOT NULL,
  updated_at timestamptz
);
INSERT INTO snapshot (id, pos, updated_at) VALUES (1, 0, NULL);

CREATE TABLE snapshot_record (
  key text COLLATE "C" PRIMARY KEY,
  -- The record as the engine encodes it (JSON; a bigint is {"$n":"123"}).
  value text NOT NULL
);
