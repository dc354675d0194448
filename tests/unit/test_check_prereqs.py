"""scripts/check-prereqs.sh: `make` stops early, saying what to install, on a machine that lacks it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(python: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "scripts/check-prereqs.sh")], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": python}, check=False)


def test_a_python_other_than_3_11_is_refused_by_its_version(tmp_path: Path) -> None:
    other = tmp_path / "python3"  # answers like a Python 3.12 would
    other.write_text('#!/bin/bash\ncase "$*" in *version_info*) exit 1;; *platform*) echo 3.12.1;; esac\n')
    other.chmod(0o755)

    checked = _check(str(other))

    assert checked.returncode == 1
    assert f"error: '{other}' is Python 3.12.1, not 3.11" in checked.stderr


def test_this_python_3_11_passes() -> None:
    assert sys.version_info[:2] == (3, 11)
    checked = _check(sys.executable)
    assert checked.returncode == 0, checked.stderr
    assert "error" not in checked.stderr
