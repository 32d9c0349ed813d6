"""Developer tools kept out of the wheel: benchmarks, screenshots, the throwaway PostgreSQL
cluster, the bulk loader and the schema export. `make bench`, `make screenshots`, `make schemas`
and `.ci/run` run them from the repository root."""
