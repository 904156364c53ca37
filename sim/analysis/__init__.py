"""Statistics of results: pure functions of per-replication records and of results folders."""
