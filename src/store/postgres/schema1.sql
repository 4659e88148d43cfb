-- pi7 on PostgreSQL, schema version 1: the same tables as SQLite's version
-- 2. Later versions add files beside this one and never edit it.
--
-- Ids are text in the "C" collation, so that an id prefix is a byte range
-- (`pi7 show 3f2a` finds ids by `id >= prefix AND id < prefix || '~'`).

-- The append-only log. `seq` is the global position; it is given under the
-- append lock (see mod.rs), so it is also the order of commits.
CREATE TABLE events (
    seq          bigint  PRIMARY KEY,
    id           text    COLLATE "C" NOT NULL UNIQUE,
    topic        text    NOT NULL,
    process_id   text    COLLATE "C" NOT NULL,
    causation_id text    COLLATE "C",
    source       text    NOT NULL,
    time         bigint  NOT NULL,
    payload      text    NOT NULL,
    -- The seq of the first event of the command that appended it; NULL for
    -- what a handler published.
    command      bigint
);
CREATE INDEX events_by_process ON events (process_id, seq);
CREATE INDEX events_by_topic ON events (topic, seq);
CREATE INDEX events_by_cause ON events (causation_id) WHERE causation_id IS NOT NULL;

CREATE TABLE deliveries (
    key       bigserial PRIMARY KEY,
    seq       bigint    NOT NULL REFERENCES events (seq),
    component text      NOT NULL,
    status    text      NOT NULL DEFAULT 'pending'
              CHECK (status IN ('pending', 'done', 'failed')),
    attempts  integer   NOT NULL DEFAULT 0,
    error     text,
    -- From `handling_order`: sorts handled deliveries in the order they
    -- were handled. Gaps are allowed; only the order counts.
    handled   bigint    UNIQUE,
    -- The highest seq in the log when it was handled.
    log_seq   bigint,
    UNIQUE (seq, component)
);
CREATE SEQUENCE handling_order;
CREATE INDEX deliveries_pending ON deliveries (key) WHERE status = 'pending';
CREATE INDEX deliveries_failed ON deliveries (key) WHERE status = 'failed';

CREATE TABLE redeliveries (
    seq       bigint  NOT NULL REFERENCES events (seq),
    component text    NOT NULL,
    time      bigint  NOT NULL,
    changed   boolean NOT NULL
);

-- `row` keeps the order documents were first stored in, as SQLite's rowid.
CREATE TABLE salesorders (
    row        bigserial UNIQUE,
    id         text COLLATE "C" PRIMARY KEY,
    process_id text COLLATE "C" NOT NULL UNIQUE,
    customer   text,
    status     text NOT NULL,
    document   text NOT NULL
);
CREATE INDEX salesorders_by_status ON salesorders (status);
CREATE INDEX salesorders_by_customer ON salesorders (customer);

CREATE TABLE reservations (
    row        bigserial UNIQUE,
    id         text COLLATE "C" PRIMARY KEY,
    process_id text COLLATE "C" NOT NULL,
    status     text NOT NULL,
    document   text NOT NULL
);
CREATE INDEX reservations_by_process ON reservations (process_id, row);
CREATE INDEX reservations_by_status ON reservations (status);
