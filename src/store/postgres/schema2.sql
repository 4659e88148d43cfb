-- pi7 on PostgreSQL, schema version 2: what the MQTT relay and inbox keep,
-- as SQLite's version 3 (mqtt.sql) does. Added beside schema1.sql, which is
-- never edited.

-- One row per relay name: how far the broker has acknowledged the log, and
-- which relay may publish it now. `position` is the highest seq such that
-- every event up to it was acknowledged (PUBACK); `owner` holds the lease
-- until `lease_until` (unix milliseconds of the server's clock, so that
-- relays on machines whose clocks differ agree on when a lease lapses), and
-- only the owner may move `position`.
CREATE TABLE relay_positions (
    name        text    PRIMARY KEY,
    position    bigint  NOT NULL DEFAULT 0,
    owner       text,
    lease_until bigint  NOT NULL DEFAULT 0
);

-- Every message the inbox could not take, with why; it was also published
-- on the dead-letter topic.
CREATE TABLE dead_letters (
    id      bigserial PRIMARY KEY,
    time    bigint    NOT NULL,
    topic   text      NOT NULL,
    payload bytea     NOT NULL,
    reason  text      NOT NULL
);
