-- agentpay on PostgreSQL, schema version 2: read models for operators (reporting, reconciliation, BI).
-- Written only by the projector, from the log, exactly once per log position (`log_pos` is the
-- position that last wrote the row); the engine never reads them. Amounts are minor units.

-- How the engine encodes what the read models need: a bigint as {"$n":"123"}, a time as epoch ms.
CREATE FUNCTION minor(j jsonb) RETURNS numeric(39, 0) LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE WHEN jsonb_typeof(j) = 'object' THEN (j ->> '$n')::numeric ELSE (j #>> '{}')::numeric END $$;
CREATE FUNCTION ms_time(j jsonb) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT to_timestamp((j #>> '{}')::double precision / 1000) $$;

CREATE TABLE accounts (
  id text PRIMARY KEY,
  currency text NOT NULL,
  debits_pending numeric(39, 0) NOT NULL,
  debits_posted numeric(39, 0) NOT NULL,
  credits_pending numeric(39, 0) NOT NULL,
  credits_posted numeric(39, 0) NOT NULL,
  debits_must_not_exceed_credits boolean NOT NULL,
  credits_must_not_exceed_debits boolean NOT NULL,
  closed boolean NOT NULL,
  code text,
  metadata jsonb,
  created_at timestamptz NOT NULL,
  log_pos bigint NOT NULL
);

CREATE TABLE transfers (
  id text PRIMARY KEY,
  seq bigint NOT NULL,
  kind text NOT NULL,
  debit_account_id text NOT NULL,
  credit_account_id text NOT NULL,
  amount_minor numeric(39, 0) NOT NULL,
  currency text NOT NULL,
  pending_id text,
  state text,
  resolved_by_id text,
  expires_at timestamptz,
  debit_balance_after numeric(39, 0) NOT NULL,
  credit_balance_after numeric(39, 0) NOT NULL,
  code text,
  metadata jsonb,
  created_at timestamptz NOT NULL,
  log_pos bigint NOT NULL
);
CREATE INDEX transfers_debit_account ON transfers (debit_account_id, seq);
CREATE INDEX transfers_credit_account ON transfers (credit_account_id, seq);
CREATE INDEX transfers_created_at ON transfers (created_at);

CREATE TABLE payments (
  id text PRIMARY KEY,
  status text NOT NULL,
  owner_id text NOT NULL,
  wallet_id text NOT NULL,
  sub_wallet_id text NOT NULL,
  agent_id text NOT NULL,
  grant_id text,
  merchant_id text NOT NULL,
  category text NOT NULL,
  amount_minor numeric(39, 0) NOT NULL,
  currency text NOT NULL,
  reference text,
  decision text NOT NULL,
  approval_id text,
  hold_transfer_id text,
  capture_transfer_id text,
  captured_minor numeric(39, 0),
  refunded_minor numeric(39, 0),
  created_at timestamptz NOT NULL,
  authorized_at timestamptz,
  captured_at timestamptz,
  resolved_at timestamptz,
  log_pos bigint NOT NULL
);
CREATE INDEX payments_sub_wallet ON payments (sub_wallet_id, created_at);
CREATE INDEX payments_merchant ON payments (merchant_id, created_at);
CREATE INDEX payments_agent ON payments (agent_id, created_at);

CREATE TABLE approvals (
  id text PRIMARY KEY,
  status text NOT NULL,
  owner_id text NOT NULL,
  sub_wallet_id text NOT NULL,
  agent_id text NOT NULL,
  subject_kind text NOT NULL,
  subject_id text NOT NULL,
  summary jsonb NOT NULL,
  reasons jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  resolved_at timestamptz,
  resolved_by text,
  log_pos bigint NOT NULL
);
CREATE INDEX approvals_owner ON approvals (owner_id, created_at);

-- Every event the outbox held, kept after the engine prunes delivered ones (history for operators).
-- Destinations are not copied (they may name secrets).
CREATE TABLE events (
  id text PRIMARY KEY,
  type text NOT NULL,
  created_at timestamptz NOT NULL,
  subject jsonb NOT NULL,
  data jsonb,
  log_pos bigint NOT NULL
);
CREATE INDEX events_created_at ON events (created_at);
CREATE INDEX events_type ON events (type, created_at);
