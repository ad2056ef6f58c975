"""Measuring rules against labelled news: labels in, the real pipeline run, precision and recall out."""
