-- pi7 schema, version 4: the deliveries table again, with its status check
-- written as comparisons. SQLite evaluates `status IN ('pending', 'done',
-- 'failed')` by building a temporary index of the list for every row a
-- statement writes, which made that check most of the cost of recording a
-- delivery. Same columns, same rows, same indexes.

CREATE TABLE deliveries_v4 (
    key       INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL REFERENCES events (seq),
    component TEXT    NOT NULL,
    status    TEXT    NOT NULL DEFAULT 'pending'
              CHECK (status = 'pending' OR status = 'done' OR status = 'failed'),
    attempts  INTEGER NOT NULL DEFAULT 0,
    error     TEXT,
    -- 1, 2, 3... in the order deliveries were handled, so that a replay
    -- can handle them in exactly that order again.
    handled   INTEGER UNIQUE,
    -- The highest seq in the log when its handling began (see version 2).
    log_seq   INTEGER,
    UNIQUE (seq, component)
);
INSERT INTO deliveries_v4 (key, seq, component, status, attempts, error, handled, log_seq)
    SELECT key, seq, component, status, attempts, error, handled, log_seq FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v4 RENAME TO deliveries;
CREATE INDEX deliveries_pending ON deliveries (key) WHERE status = 'pending';
CREATE INDEX deliveries_failed ON deliveries (key) WHERE status = 'failed';
