-- The research database: aggregates only, no pseudonyms. Built from repositories attached as va and le.
CREATE TABLE victims_by_year_sex AS
    SELECT reporting_year, sex, count(*) AS victim_records, count(DISTINCT provider) AS providers
    FROM va.current_victim_assistance
    GROUP BY ALL ORDER BY ALL;

CREATE TABLE suspects_by_year_stage AS
    SELECT reporting_year, stage, offence, count(*) AS suspect_records
    FROM le.current_law_enforcement
    WHERE person_role = 'suspect'
    GROUP BY ALL ORDER BY ALL;

CREATE TABLE submissions AS
    SELECT provider, feed, period, received_at, loaded_at, rows_in, rows_loaded, rows_quarantined,
           superseded_by IS NOT NULL AS superseded
    FROM (SELECT * FROM va.submissions UNION ALL SELECT * FROM le.submissions)
    ORDER BY feed, provider, loaded_at;

-- "Not covered by national law" is not zero: before a form became an offence, its count is NULL.
CREATE TABLE suspects_by_year_form AS
    WITH counts AS (
        SELECT reporting_year, form, count(*) AS n
        FROM (SELECT reporting_year, unnest(exploitation_forms) AS form
              FROM le.current_law_enforcement WHERE person_role = 'suspect')
        GROUP BY ALL
    ),
    years AS (SELECT DISTINCT reporting_year FROM le.current_law_enforcement)
    SELECT y.reporting_year, c.code AS exploitation_form,
           CASE WHEN y.reporting_year < cov.covered_from THEN NULL ELSE coalesce(n.n, 0) END AS suspect_records,
           CASE WHEN y.reporting_year < cov.covered_from THEN 'not_covered_by_law' ELSE 'counted' END AS status
    FROM years y
    CROSS JOIN (SELECT code FROM code_lists WHERE codelist = 'exploitation_form') c
    LEFT JOIN counts n ON n.reporting_year = y.reporting_year AND n.form = c.code
    LEFT JOIN national_coverage cov ON cov.column_name = 'exploitation_form' AND cov.code = c.code
    ORDER BY ALL;
