-- pi7 schema, version 1. Applied once to a new database; later versions add
-- migrations beside this file and never edit it.

-- The append-only integration log. Rows are never updated or deleted.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    topic        TEXT    NOT NULL,
    process_id   TEXT    NOT NULL,
    causation_id TEXT,
    source       TEXT    NOT NULL,
    time         INTEGER NOT NULL,
    payload      TEXT    NOT NULL
);
CREATE INDEX events_by_process ON events (process_id, seq);
CREATE INDEX events_by_topic ON events (topic, seq);

-- One row per (event, component) the routing table delivers it to. `key`
-- orders deliveries by creation, which is what FIFO and LIFO mean.
CREATE TABLE deliveries (
    key       INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL REFERENCES events (seq),
    component TEXT    NOT NULL,
    status    TEXT    NOT NULL DEFAULT 'pending'
              CHECK (status IN ('pending', 'done', 'failed')),
    attempts  INTEGER NOT NULL DEFAULT 0,
    error     TEXT,
    -- 1, 2, 3... in the order deliveries were handled, so that a replay
    -- can handle them in exactly that order again.
    handled   INTEGER UNIQUE,
    -- The highest seq in the log when it was handled: where in the log a
    -- replay handles it again.
    log_seq   INTEGER,
    UNIQUE (seq, component)
);
CREATE INDEX deliveries_pending ON deliveries (key) WHERE status = 'pending';
CREATE INDEX deliveries_failed ON deliveries (key) WHERE status = 'failed';

-- Every time an already handled event was delivered again.
CREATE TABLE redeliveries (
    seq       INTEGER NOT NULL REFERENCES events (seq),
    component TEXT    NOT NULL,
    time      INTEGER NOT NULL,
    changed   INTEGER NOT NULL
);

-- Documents: the JSON document, with the fields commands filter on beside it.
CREATE TABLE salesorders (
    id         TEXT PRIMARY KEY,
    process_id TEXT NOT NULL UNIQUE,
    customer   TEXT,
    status     TEXT NOT NULL,
    document   TEXT NOT NULL
);
CREATE INDEX salesorders_by_status ON salesorders (status);
CREATE INDEX salesorders_by_customer ON salesorders (customer);

CREATE TABLE reservations (
    id         TEXT PRIMARY KEY,
    process_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    document   TEXT NOT NULL
);
CREATE INDEX reservations_by_process ON reservations (process_id);
CREATE INDEX reservations_by_status ON reservations (status);
