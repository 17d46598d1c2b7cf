"""nodelab's benchmark suite: one command runs every benchmark and renders docs/performance.md.

    sudo .venv/bin/python -m benchmarks [--quick] [--only AREA[,AREA]]

Each benchmark is a script that also runs alone and writes one JSON file in the common shape
(`benchmarks.schema`): `{"benchmark": name, "params": {...}, "results": [row, ...]}`. The runner
(`benchmarks.runner`) starts each one in its own process group under a time budget, records
what happened to it (ok, failed, over budget, not run) in a `BenchmarkRun`, and writes them all
under `benchmarks/results/<run-id>/`. `benchmarks.comparisons` turns each benchmark's rows into
nodelab-beside-reference comparisons, and `benchmarks.report` renders those as markdown (pure,
unit-tested in tests/benchmarks/).
"""
