"""YouTube-VOS object categories and the 'seen' set (categories of the train split)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import DatasetError

# Splits whose meta.json may describe evaluated videos, most specific first.
_EVAL_SPLITS = ("valid_gt", "valid", "test", "train")


def dataset_year(dataset_name: str) -> str | None:
    """``'2019'`` for ``yt2019_valid_gt`` etc.; ``None`` when the name holds no year."""
    match = re.search(r"(20\d\d)", dataset_name)
    return match.group(1) if match else None


def read_meta(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: cannot read YouTube-VOS meta.json ({type(err).__name__})") from None
    if "videos" not in data:
        raise DatasetError(f"{path}: no 'videos' key (not a YouTube-VOS meta.json)")
    return data["videos"]


def meta_categories(videos: dict) -> dict[tuple[str, str], str]:
    """(video, object id) -> category of a parsed meta.json."""
    return {
        (vid, str(oid)): obj.get("category", "")
        for vid, info in videos.items()
        for oid, obj in info.get("objects", {}).items()
    }


def load_categories(root: Path, year: str) -> tuple[dict[tuple[str, str], str], set[str] | None]:
    """Categories of all objects described under ``<root>/<year>/`` and the seen set.

    The seen set is ``None`` when ``train/meta.json`` is absent (seen/unseen cannot be told).
    """
    base = Path(root) / year
    categories: dict[tuple[str, str], str] = {}
    for split in _EVAL_SPLITS:
        meta = base / split / "meta.json"
        if meta.is_file():
            for key, value in meta_categories(read_meta(meta)).items():
                categories.setdefault(key, value)
    train_meta = base / "train" / "meta.json"
    seen = set(meta_categories(read_meta(train_meta)).values()) if train_meta.is_file() else None
    return categories, seen
