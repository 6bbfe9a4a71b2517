-- The law-enforcement repository: one row per person (suspect or victim) per case, pseudonymised.
CREATE TABLE IF NOT EXISTS law_enforcement (
    submission_id       VARCHAR NOT NULL,
    provider            VARCHAR NOT NULL,
    row_number          BIGINT NOT NULL,
    record_token        VARCHAR NOT NULL,
    document_token      VARCHAR,
    name_dob_token      VARCHAR,
    skeleton_token      VARCHAR,
    event_token         VARCHAR,
    key_version         INTEGER NOT NULL,
    reporting_year      INTEGER NOT NULL,
    sex                 VARCHAR NOT NULL,
    birth_year          INTEGER,
    age_at_event        BIGINT,
    age_group           VARCHAR NOT NULL,
    is_child            BOOLEAN,
    citizenship         VARCHAR NOT NULL,
    region              VARCHAR NOT NULL,
    exploitation_forms  VARCHAR[] NOT NULL,
    case_token          VARCHAR NOT NULL,
    person_role         VARCHAR NOT NULL,
    stage               VARCHAR NOT NULL,
    offence             VARCHAR NOT NULL,
    investigation_month DATE NOT NULL,
    prosecution_month   DATE,
    conviction_month    DATE,
    sentence_months     BIGINT
);
CREATE OR REPLACE VIEW current_law_enforcement AS
    SELECT t.* FROM law_enforcement t JOIN submissions s USING (submission_id)
    WHERE s.superseded_by IS NULL;
