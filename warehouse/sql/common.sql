-- Tables every repository has: the submissions ledger and the quarantine.
CREATE TABLE IF NOT EXISTS submissions (
    submission_id     VARCHAR PRIMARY KEY,
    provider          VARCHAR NOT NULL,
    feed              VARCHAR NOT NULL,
    period            VARCHAR NOT NULL,
    content_sha256    VARCHAR NOT NULL,
    received_at       TIMESTAMP,
    loaded_at         TIMESTAMP NOT NULL,
    rows_in           BIGINT NOT NULL,
    rows_loaded       BIGINT NOT NULL,
    rows_quarantined  BIGINT NOT NULL,
    status            VARCHAR NOT NULL,
    superseded_by     VARCHAR,
    key_version       INTEGER NOT NULL,
    codelist_version  VARCHAR NOT NULL,
    CHECK (rows_in = rows_loaded + rows_quarantined)
);
-- One row per failed rule; a row is quarantined when it has at least one. No cell values.
CREATE TABLE IF NOT EXISTS quarantine (
    submission_id VARCHAR NOT NULL,
    row_number    BIGINT NOT NULL,
    column_name   VARCHAR NOT NULL,
    rule          VARCHAR NOT NULL,
    message       VARCHAR NOT NULL
);
-- The layout version of this repository; the product refuses a file of another version.
CREATE TABLE IF NOT EXISTS repository_meta (schema_version INTEGER NOT NULL);
