-- The research database: aggregates only, no pseudonyms. Built from repositories attached as va and le.
CREATE TABLE victims_by_year_sex AS
    SELECT reporting_year, sex, count(*) AS victim_records, count(DISTINCT provider) AS providers
    FROM va.current_victim_assistance
    GROUP BY ALL ORDER BY ALL;
COMMENT ON TABLE victims_by_year_sex IS 'Victim-assistance records per reporting year and sex (one person may be counted by several providers).';

CREATE TABLE suspects_by_year_stage AS
    SELECT reporting_year, stage, offence, count(*) AS suspect_records
    FROM le.current_law_enforcement
    WHERE person_role = 'suspect'
    GROUP BY ALL ORDER BY ALL;
COMMENT ON TABLE suspects_by_year_stage IS 'Law-enforcement suspect records per reporting year, furthest stage reached and offence.';

CREATE TABLE submissions AS
    SELECT provider, feed, period, received_at, loaded_at, rows_in, rows_loaded, rows_quarantined,
           superseded_by IS NOT NULL AS superseded
    FROM (SELECT * FROM va.submissions UNION ALL SELECT * FROM le.submissions)
    ORDER BY feed, provider, loaded_at;
COMMENT ON TABLE submissions IS 'Every submission loaded into either repository, with its row accounting.';
