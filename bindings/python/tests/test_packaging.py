"""The installed distribution: one abi3 wheel for every CPython from 3.9 (pyo3's abi3-py39)."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

from packaging.tags import Tag, sys_tags

import mondoo
from mondoo import _native


def wheel_tags(dist: importlib.metadata.Distribution) -> list[str]:
    wheel = dist.read_text("WHEEL")
    assert wheel is not None, f"no WHEEL file in the dist-info of {dist.metadata['Name']}"
    return [line.partition(":")[2].strip() for line in wheel.splitlines() if line.startswith("Tag:")]


def test_installed_wheel_is_abi3_for_cpython_3_9() -> None:
    dist = importlib.metadata.distribution("mondoo")
    tags = wheel_tags(dist)
    assert len(tags) == 1, tags
    interpreter, abi, platform = tags[0].split("-")
    assert (interpreter, abi) == ("cp39", "abi3"), tags[0]
    # the tag is one this interpreter accepts (pip would refuse the wheel otherwise)
    assert Tag(interpreter, abi, platform) in set(sys_tags()), tags[0]
    wheel = dist.read_text("WHEEL") or ""
    assert "Root-Is-Purelib: false" in wheel
    assert dist.metadata["Requires-Python"] == ">=3.9"
    assert dist.version == mondoo.VERSION == mondoo.__version__


def test_the_imported_module_is_the_installed_abi3_extension() -> None:
    native = Path(_native.__file__ or "").resolve()
    suffix = ".pyd" if sys.platform == "win32" else ".abi3.so"
    assert native.name == f"_native{suffix}", native
    dist = importlib.metadata.distribution("mondoo")
    installed = {Path(str(dist.locate_file(f))).resolve() for f in dist.files or []}
    # not a build from the source tree: the file the wheel installed
    assert native in installed, f"{native} is not a file of the installed mondoo distribution"
    assert Path(mondoo.__file__ or "").resolve() in installed
