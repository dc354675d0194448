#!/usr/bin/env bash
# The job's Spark tests on another Spark 3.5 release than the pinned one, in a venv of its own
# (.venv-spark-<release>). The job relies on a few Spark internals (job/spark.py: shuffled_apart), so
# the release AWS Glue runs is checked too: `make test-glue-spark` (Glue 5.0: Spark 3.5.4).
set -euo pipefail
cd "$(dirname "$0")/.."
release=${1:?usage: scripts/test-on-spark.sh <pyspark release, e.g. 3.5.4>}
shift
venv=.venv-spark-$release
stamp=$venv/.installed-stamp
# Built again when the project's pins or dependencies change, as .venv is (Makefile: $(STAMP)).
if [ ! -f "$stamp" ] || [ constraints.txt -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "${PYTHON:-python3.11}" -m venv --clear "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  # The project's pins, except Spark and the py4j it pins exactly.
  grep -v -E '^(pyspark|py4j)==' constraints.txt > "$venv/constraints.txt"
  echo "pyspark==$release" >> "$venv/constraints.txt"
  "$venv/bin/pip" install -q -c "$venv/constraints.txt" -e '.[local,dev]'
  touch "$stamp"
fi
"$venv/bin/python" -c "import pyspark; assert pyspark.__version__ == '$release', pyspark.__version__"
# The long backfill checks the local runtime's SQS timing, not Spark: `make test` runs it once.
exec "$venv/bin/pytest" -p no:cacheprovider "$@" \
  tests/integration/test_job_spark.py tests/integration/test_job_transforms.py tests/integration/test_job_lines.py \
  tests/integration/test_job_entry.py tests/integration/test_bench_reference.py tests/e2e \
  --deselect tests/e2e/test_local_flow.py::test_a_backfill_longer_than_the_queues_receives_waits_for_glue_and_loads_every_file_once
