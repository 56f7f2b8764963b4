-- What a dataset card must say about each source and the store did not record: the licence the
-- material came under (an id as the Hugging Face Hub spells it, e.g. cc-by-4.0) and its language
-- (ISO 639-1). Set by `curator.versions.card.describe_source`; no row or NULL: not declared, and
-- the card says so rather than guessing. A table of its own: DuckDB cannot update `sources`,
-- which other tables reference.
CREATE TABLE source_terms (
    source_id  BIGINT PRIMARY KEY REFERENCES sources(id),
    license    VARCHAR,
    language   VARCHAR
);
