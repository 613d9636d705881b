"""Shared fixtures. Real data lives in ../shared/data (CI has it beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MMRA_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.fail(f"shared test data not found at {SHARED_DATA} (set MMRA_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture()
def make_image(tmp_path):
    """Write a small real image file and return its path."""
    from PIL import Image, ImageDraw

    def _make(name: str = "img.png", size=(80, 64), color=(200, 30, 30), shape_seed: int = 0) -> Path:
        img = Image.new("RGB", size, color)
        draw = ImageDraw.Draw(img)
        s = shape_seed
        draw.rectangle([5 + s % 20, 5 + s % 13, 30 + s % 25, 30 + s % 11], fill=(s * 37 % 255, s * 91 % 255, 80))
        path = tmp_path / name
        img.save(path)
        return path

    return _make
