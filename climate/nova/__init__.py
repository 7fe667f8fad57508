"""Pieces of Climate that run inside Nova's own processes."""
