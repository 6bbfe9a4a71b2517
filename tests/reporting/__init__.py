"""Tests of the published reports."""
