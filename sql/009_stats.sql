-- Statistics caches. Token lengths cost a tokenizer pass per example, so they are computed once
-- per (example, tokenizer) and kept: examples' messages never change, and a version's items are
-- frozen, so a cached length is never stale. `tokenizer` is 'chars' (character counts) or
-- 'tok:<sha256 prefix of the tokenizer files>', so a changed tokenizer file gets fresh rows.
-- (Numbered 009: 007 is versions and 008 is reserved for training.)

CREATE TABLE example_lengths (
    tokenizer   VARCHAR NOT NULL,
    example_id  BIGINT NOT NULL,
    system      INTEGER NOT NULL,
    "user"      INTEGER NOT NULL,
    assistant   INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    PRIMARY KEY (tokenizer, example_id)
);

-- The same for the frozen messages of a version's items (they may carry reviewers' edits).
CREATE TABLE item_lengths (
    tokenizer   VARCHAR NOT NULL,
    version_id  BIGINT NOT NULL,
    example_id  BIGINT NOT NULL,
    system      INTEGER NOT NULL,
    "user"      INTEGER NOT NULL,
    assistant   INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    PRIMARY KEY (tokenizer, version_id, example_id)
);

-- Summaries of a version, computed once: a version's items, their sources and kinds, its
-- generation runs never change, so neither does its summary for a given tokenizer and limit.
CREATE TABLE version_stats (
    version_id  BIGINT NOT NULL,
    tokenizer   VARCHAR NOT NULL,
    max_seq_len INTEGER NOT NULL,
    stats       JSON NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (version_id, tokenizer, max_seq_len)
);

-- A length's power-of-two bin: 0 for 0-31, k for [2^(k+4), 2^(k+5)), 10 for 16384 and more.
CREATE MACRO len_bin(n) AS CASE WHEN n < 32 THEN 0 ELSE least(floor(log2(n))::INT - 4, 10) END;

-- Characters of the messages with a role (NULL: every message), from the JSON paths
-- '$[*].content' and '$[*].role' (about twice as fast as casting the messages to JSON[]).
CREATE MACRO role_chars(contents, roles, wanted) AS
    coalesce(list_sum([length(coalesce(contents[i], '')) FOR i IN range(1, len(roles) + 1)
                       IF wanted IS NULL OR roles[i] = wanted]), 0);

-- The store-wide report, kept with a fingerprint of the store (row counts, highest ids, the
-- newest audit_log entry: every change through curator writes one). A call whose fingerprint
-- matches reads the report back instead of scanning a million examples again.
CREATE TABLE stats_snapshots (
    scope        VARCHAR NOT NULL,               -- 'store' or 'overview'
    tokenizer    VARCHAR NOT NULL,
    max_seq_len  INTEGER NOT NULL,
    fingerprint  VARCHAR NOT NULL,
    report       JSON NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, tokenizer, max_seq_len)
);
