"""Tests of the multiple systems estimation package."""
