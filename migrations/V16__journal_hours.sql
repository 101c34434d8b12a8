-- scimbox schema, version 16: the journal's requests per connection and hour (issue 16), so the
-- overview's trends (24 hours, 7 days) and rate-limit refusals read at most a few hundred rows
-- instead of counting a week of journal entries on every load.
-- Append-only: never edit this file once released; add V17__*.sql instead.

-- Maintained by the journal's writer in the same write as the entries it counts
-- (`db::rollup::add`), pruned after 8 days (`journal::prune`), independently of the journal's
-- own age and count limits: counts name no user, and a busy server's trends keep their week.
CREATE TABLE journal_hours (
    token     TEXT    NOT NULL,  -- the connection; '' for requests without a valid token (a token name is never empty)
    hour      TEXT    NOT NULL,  -- the hour's start, as stamps are stored: 2026-12-07T12:00:00.000Z
    requests  INTEGER NOT NULL,
    failures  INTEGER NOT NULL,  -- answered 400 or above
    limited   INTEGER NOT NULL,  -- answered 429 by the rate limiter (not the deprovisioning guard's holds)
    PRIMARY KEY (token, hour)
) STRICT, WITHOUT ROWID;
CREATE INDEX journal_hours_hour ON journal_hours (hour);

-- The entries already kept, counted the same way.
INSERT INTO journal_hours (token, hour, requests, failures, limited)
SELECT coalesce(token_name, ''), substr(at, 1, 13) || ':00:00.000Z', count(*), sum(status >= 400),
       sum(status = 429 AND coalesce(detail, '') NOT LIKE '%deprovisioning guard%')
FROM journal
GROUP BY 1, 2;
