-- scimbox schema, version 17: one index fewer written with every event (issue 17).
-- Append-only: never edit this file once released; add V18__*.sql instead.

-- No query reads events by `occurred_at`: the feed and webhooks read by `seq`, and pruning
-- walks the oldest events in `seq` order and stops at the first one young enough. The index
-- cost one more B-tree insert inside the writer for every event of every write.
DROP INDEX events_occurred_at;
