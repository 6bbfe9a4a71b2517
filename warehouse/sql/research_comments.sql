-- Table comments, applied after disclosure control has rewritten the count tables.
COMMENT ON TABLE victims_by_year_sex IS 'Victim-assistance records per reporting year and sex (one person may be counted by several providers).';
COMMENT ON TABLE suspects_by_year_stage IS 'Law-enforcement suspect records per reporting year, furthest stage reached and offence.';
COMMENT ON TABLE submissions IS 'Every submission loaded into either repository, with its row accounting.';
COMMENT ON TABLE suspects_by_year_form IS 'Suspect records per reporting year and form of exploitation; NULL with status not_covered_by_law where national law did not cover the form that year.';
COMMENT ON TABLE code_lists IS 'Every code of the common data set with its definition.';
COMMENT ON TABLE national_coverage IS 'Codes national law covered only from a year on (schemas/coverage.yaml).';
COMMENT ON TABLE indicators IS 'Long format: indicator, period, dimension, category, value (unique persons after linkage, or records), baseline, change against it, trend against the previous period; small cells suppressed and marked.';
COMMENT ON TABLE attrition IS 'Unique suspects investigated, prosecuted and convicted per year, with the share reaching the next stage.';
COMMENT ON TABLE sentences IS 'Sentences of convicted suspects per year: number, median and quartiles in months; withheld under k.';
COMMENT ON TABLE provider_overlap IS 'Unique victims per year by the combination of lists (providers; law enforcement as one list) that saw them.';
COMMENT ON TABLE hidden_population IS 'Multiple systems estimation per year (stepwise Poisson log-linear, as SparseMSE) on the overlap of lists: the estimated population that could have been identified, with BCa intervals; assumptions in docs/mse.md.';
