-- Jobs, their shards, the workers that lease them and the metrics of completed shards.
-- States are text with CHECK constraints (not enums) so that later migrations can add states
-- inside a transaction.

CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL,
    spec          jsonb NOT NULL,
    model_key     text NOT NULL,
    model_uri     text NOT NULL,
    model_sha256  text NOT NULL,
    state         text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority      integer NOT NULL,
    max_attempts  integer NOT NULL CHECK (max_attempts > 0),
    total_shards  integer NOT NULL CHECK (total_shards > 0),
    total_items   integer NOT NULL CHECK (total_items > 0),
    metrics       jsonb,
    error         text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    finished_at   timestamptz
);

CREATE INDEX jobs_by_creation ON jobs (created_at DESC, id);

CREATE TABLE workers (
    id             uuid PRIMARY KEY,
    name           text NOT NULL,
    devices        jsonb NOT NULL,
    -- NULL: the worker serves any model.
    models         text[],
    capacity       integer NOT NULL CHECK (capacity > 0),
    state          text NOT NULL CHECK (state IN ('active', 'lost')),
    registered_at  timestamptz NOT NULL,
    heartbeat_at   timestamptz NOT NULL
);

-- Every claim takes a new token, so a later lease of a shard always holds a larger token.
CREATE SEQUENCE shard_fencing_tokens;

CREATE TABLE shards (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id            uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    index             integer NOT NULL,
    -- The shard holds items [first_item, first_item + jsonb_array_length(items)) of its job.
    first_item        integer NOT NULL,
    items             jsonb NOT NULL,
    model_key         text NOT NULL,
    -- The job's priority, copied so that claims read one table and one index.
    priority          integer NOT NULL,
    state             text NOT NULL CHECK (state IN ('queued', 'leased', 'done', 'dead', 'cancelled')),
    attempt           integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL,
    lease_id          uuid,
    fencing_token     bigint,
    leased_by         uuid REFERENCES workers (id),
    lease_expires_at  timestamptz,
    not_before        timestamptz NOT NULL,
    errors            jsonb NOT NULL DEFAULT '[]',
    finished_at       timestamptz,
    UNIQUE (job_id, index)
);

CREATE INDEX shards_claimable ON shards (priority, id) WHERE state = 'queued';
CREATE INDEX shards_leased ON shards (lease_expires_at) WHERE state = 'leased';

CREATE TABLE shard_metrics (
    job_id       uuid NOT NULL,
    shard        integer NOT NULL,
    metrics      jsonb NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (job_id, shard),
    FOREIGN KEY (job_id, shard) REFERENCES shards (job_id, index) ON DELETE CASCADE
);
