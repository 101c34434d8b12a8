-- scimbox schema, version 13: the transaction an event belongs to (issue 14, RFC 9967 `txn`).
-- Append-only: never edit this file once released; add V14__*.sql instead.

-- The seq of the first event its write recorded, for every later event of the same write; NULL
-- for the first one (and for events recorded before this version): its txn is its own seq. One
-- write (one user change with its access events, one registry change with thousands) thus has
-- one txn, which RFC 9967 §2.2 asks of SETs describing one state change.
ALTER TABLE events ADD COLUMN txn INTEGER;
