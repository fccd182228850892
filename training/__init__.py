"""Reproducible data generation and training for the built-in "voicesafety/mini" models."""
