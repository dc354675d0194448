#!/usr/bin/env bash
# Fails early, and says what to install, when the machine lacks what Glue 5.0's versions need.
# With `tests`: also the PostgreSQL server binaries the test suite starts a throwaway server from.
set -euo pipefail
py=${PYTHON:-python3.11}
missing=0
if ! command -v "$py" >/dev/null 2>&1; then
  echo "error: Python 3.11 ('$py') not found. Glue 5.0 runs Python 3.11: install it (e.g. pyenv install 3.11, or apt-get install python3.11 python3.11-venv) or set PYTHON=/path/to/python3.11." >&2
  missing=1
fi
if command -v "$py" >/dev/null 2>&1 && ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "error: '$py' is Python $("$py" -c 'import platform; print(platform.python_version())'), not 3.11, which Glue 5.0 runs: set PYTHON=/path/to/python3.11." >&2
  missing=1
elif command -v "$py" >/dev/null 2>&1 && ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "error: '$py' cannot create virtual environments (no ensurepip): apt-get install python3.11-venv, or use a python.org / pyenv build." >&2
  missing=1
fi
if ! command -v java >/dev/null 2>&1; then
  echo "error: Java not found. Local Spark (Glue 5.0 = Spark 3.5) needs Java 17: apt-get install openjdk-17-jre-headless (or brew install openjdk@17)." >&2
  missing=1
else
  major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  if [ "${major:-0}" != "17" ]; then
    echo "warning: Java ${major:-unknown} found; Glue 5.0 uses Java 17 and Spark 3.5 is tested with 8/11/17. Set JAVA_HOME to a Java 17 if Spark fails to start." >&2
  fi
fi
if [ "${1:-}" = "tests" ] && ! command -v initdb >/dev/null 2>&1 \
    && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "error: PostgreSQL server binaries (initdb, pg_ctl) not found. The tests start a throwaway PostgreSQL 15: apt-get install postgresql (or brew install postgresql@15)." >&2
  missing=1
fi
exit $missing
