"""Published reports built from the research database (aggregates only): the rapporteur's annual report."""

from reporting.annual import render_annual_report, write_annual_report

__all__ = ["render_annual_report", "write_annual_report"]
