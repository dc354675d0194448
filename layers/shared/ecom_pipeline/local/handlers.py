"""Load the real Lambda handlers from `functions/<name>/app.py` of this checkout.

Every function's module is called `app` (SAM's convention), so each is loaded under its own name.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[4]
FUNCTIONS_DIR = REPO_ROOT / "functions"


def load_function_module(name: str) -> ModuleType:
    """Import `functions/<name>/app.py` as module `fn_<name>` (once; later calls reuse it)."""
    module_name = f"fn_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = FUNCTIONS_DIR / name / "app.py"
    if not path.is_file():
        raise FileNotFoundError(f"no Lambda function at {path}")
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_handler(name: str) -> Callable[[dict[str, Any], Any], Any]:
    handler: Callable[[dict[str, Any], Any], Any] = load_function_module(name).handler
    return handler
