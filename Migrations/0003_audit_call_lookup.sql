-- `airlock audit show <id>` and the console's call view open one call by its event id or by
-- the x-request-id a client saw; without these each lookup scanned every partition.
CREATE INDEX audit_events_event_id ON audit_events (event_id);
CREATE INDEX audit_events_request_id ON audit_events (request_id);
