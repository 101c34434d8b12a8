-- scimbox schema, version 4: the compatibility report of each IdP connection (token): which
-- clients used it, and which departures from RFC 7643/7644 scimbox accepted from them.

CREATE TABLE token_clients (
    token_name  TEXT    NOT NULL,
    user_agent  TEXT    NOT NULL,                -- '' when the client sent none
    requests    INTEGER NOT NULL,
    first_seen  TEXT    NOT NULL,
    last_seen   TEXT    NOT NULL,
    PRIMARY KEY (token_name, user_agent)
) STRICT;

CREATE TABLE token_quirks (
    token_name  TEXT    NOT NULL,
    quirk       TEXT    NOT NULL,                -- scimbox_validator::quirks::Quirk::code
    count       INTEGER NOT NULL,
    first_seen  TEXT    NOT NULL,
    last_seen   TEXT    NOT NULL,
    PRIMARY KEY (token_name, quirk)
) STRICT;
