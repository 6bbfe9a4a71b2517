-- The victim-assistance repository: one row per assisted person per provider, pseudonymised.
CREATE TABLE IF NOT EXISTS victim_assistance (
    submission_id          VARCHAR NOT NULL,
    provider               VARCHAR NOT NULL,
    row_number             BIGINT NOT NULL,
    record_token           VARCHAR NOT NULL,
    document_token         VARCHAR,
    name_dob_token         VARCHAR,
    skeleton_token         VARCHAR,
    event_token            VARCHAR,
    key_version            INTEGER NOT NULL,
    reporting_year         INTEGER NOT NULL,
    sex                    VARCHAR NOT NULL,
    birth_year             INTEGER,
    age_at_event           BIGINT,
    age_group              VARCHAR NOT NULL,
    is_child               BOOLEAN,
    citizenship            VARCHAR NOT NULL,
    region                 VARCHAR NOT NULL,
    exploitation_forms     VARCHAR[] NOT NULL,
    identification_month   DATE NOT NULL,
    identified_by          VARCHAR NOT NULL,
    identification_status  VARCHAR NOT NULL,
    country_of_exploitation VARCHAR NOT NULL,
    is_transnational       BOOLEAN,
    assistance_start_month DATE,
    services               VARCHAR[],
    means_of_control       VARCHAR[],
    exploitation_duration  VARCHAR,
    recruiter_relationship VARCHAR,
    economic_sector        VARCHAR,
    referred_by            VARCHAR,
    disability             VARCHAR
);
CREATE OR REPLACE VIEW current_victim_assistance AS
    SELECT t.* FROM victim_assistance t JOIN submissions s USING (submission_id)
    WHERE s.superseded_by IS NULL;
