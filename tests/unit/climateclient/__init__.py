"""Tests of the Python client and the climate command that need no service."""
