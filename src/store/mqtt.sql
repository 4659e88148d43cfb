-- pi7 schema, version 3: what the MQTT relay and inbox keep. Added beside
-- schema.sql and schema2.sql; none of them is ever edited.

-- One row per relay name: how far the broker has acknowledged the log, and
-- which relay may publish it now. `position` is the highest seq such that
-- every event up to it was acknowledged (PUBACK); `owner` holds the lease
-- until `lease_until` (unix milliseconds), and only the owner may move
-- `position`.
CREATE TABLE relay_positions (
    name        TEXT    PRIMARY KEY,
    position    INTEGER NOT NULL DEFAULT 0,
    owner       TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);

-- Every message the inbox could not take, with why; it was also published
-- on the dead-letter topic.
CREATE TABLE dead_letters (
    id      INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL,
    topic   TEXT    NOT NULL,
    payload BLOB    NOT NULL,
    reason  TEXT    NOT NULL
);
