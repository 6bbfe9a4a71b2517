"""International exports (GLOTIP, Eurostat crim_thb, SDG 16.2.2) from the published figures; docs/exports.md."""
