"""Reliability figures: crashes, hostile files, concurrent users, hostile documents, access."""
