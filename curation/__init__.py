"""Curation: ConceptNet and image-corpus ingest, candidate pair mining per subtask, image QC."""
