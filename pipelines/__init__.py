"""Batch pipelines: the flights ETL (Ray Data) and its shared schema, validation and features."""
