"""The shared package as the zip Glue's `--extra-py-files` imports (`ecom_pipeline/...` at its root)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import ecom_pipeline

# Fixed timestamps make the zip a function of the sources alone: same code, same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def package_root() -> Path:
    """The installed package directory (/opt/python/ecom_pipeline inside Lambda, via the layer)."""
    return Path(ecom_pipeline.__file__).resolve().parent


def package_zip(root: Path | None = None) -> bytes:
    """Every source file of the package (no caches), in a stable order."""
    root = root or package_root()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
                continue
            info = zipfile.ZipInfo(f"{root.name}/{path.relative_to(root).as_posix()}", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
