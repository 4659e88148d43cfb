-- pi7 schema, version 2: the log records all that an export needs to
-- reproduce the database. Never edited once released; later versions add
-- files beside it.

-- Which events one command appended together: the seq of the first of
-- them. NULL for what a handler published.
ALTER TABLE events ADD COLUMN command INTEGER;
UPDATE events SET command = seq WHERE causation_id IS NULL;

-- What handling an event published, found by its cause.
CREATE INDEX events_by_cause ON events (causation_id) WHERE causation_id IS NOT NULL;

-- `log_seq` now says where in the log the handling of a delivery began, so
-- that the events it published come after it; version 1 recorded where it
-- ended. A handler's publications are the events that name the delivered
-- event as their cause and the component as their source, appended just
-- before the handling ended.
UPDATE deliveries SET log_seq = log_seq - (
    SELECT count(*) FROM events p
    WHERE p.causation_id = (SELECT e.id FROM events e WHERE e.seq = deliveries.seq)
      AND p.source = deliveries.component
      AND p.seq <= deliveries.log_seq)
WHERE status = 'done';
