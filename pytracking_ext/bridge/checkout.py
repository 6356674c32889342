"""Install and uninstall the shims in a PyTracking checkout, keeping a manifest of what was written.

The manifest (``.pytracking_ext_bridge.json`` at the checkout root) lists every file written with
its SHA-256 and every folder created, so ``uninstall`` removes exactly those and refuses to delete
a file the user has edited since. ``install`` is idempotent and never writes into a tracker,
parameter or train-settings folder, or over a file, that it did not create. With ``replace`` the
user's folders of the same names are moved aside into ``.pytracking_ext_bridge_backup/`` (and the
manifest says where), so the checkout's own ``run_tracker.py rts rts50`` runs ours; ``uninstall``
moves them back.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SettingsError
from ..utils.io import atomic_write_text
from .shims import ShimPlan

MANIFEST_NAME = ".pytracking_ext_bridge.json"
BACKUP_DIR = ".pytracking_ext_bridge_backup"
#: Paths whose presence identifies a PyTracking checkout.
CHECKOUT_MARKERS = ("pytracking/__init__.py", "ltr/__init__.py", "pytracking/evaluation/tracker.py",
                    "pytracking/tracker", "pytracking/parameter", "ltr/train_settings")


@dataclass
class Manifest:
    """What the bridge wrote into one checkout."""

    files: dict[str, str] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    #: user folders moved aside by ``install(replace=True)``: original path -> backup path
    moved: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> "Manifest | None":
        path = root / MANIFEST_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            return cls(dict(data["files"]), list(data["dirs"]), dict(data.get("moved", {})))
        except (ValueError, KeyError, TypeError) as err:
            raise SettingsError(f"{path}: unreadable bridge manifest ({err}); fix or delete it") from None

    def save(self, root: Path) -> None:
        data = {"files": dict(sorted(self.files.items())), "dirs": self.dirs, "moved": self.moved}
        atomic_write_text(root / MANIFEST_NAME, json.dumps(data, indent=1) + "\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_checkout(root: Path) -> Path:
    """``root`` resolved, or a clear error when it is not a PyTracking checkout."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise SettingsError(f"{root}: PyTracking checkout folder not found")
    missing = [m for m in CHECKOUT_MARKERS if not (root / m).exists()]
    if missing:
        raise SettingsError(f"{root} is not a PyTracking checkout (missing {', '.join(missing)})")
    return root


def _modified(root: Path, manifest: Manifest) -> list[str]:
    return [rel for rel, digest in manifest.files.items() if (root / rel).is_file() and sha256(root / rel) != digest]


def _conflicts(root: Path, plan: ShimPlan, manifest: Manifest) -> list[str]:
    """User folders/files that installing ``plan`` would write into or over."""
    ours = set(manifest.files) | set(manifest.dirs)
    conflicts = [d for d in plan.owned_dirs if (root / d).exists() and d not in manifest.dirs]
    conflicts += [rel for rel in plan.files if (root / rel).exists() and rel not in ours
                  and not any(rel.startswith(d + "/") for d in conflicts)]
    return conflicts


def _move_aside(root: Path, conflicts: list[str], plan: ShimPlan, manifest: Manifest) -> None:
    """Move the user's folders in ``conflicts`` into the backup folder, recording where."""
    loose = [rel for rel in conflicts if rel not in plan.owned_dirs]
    if loose:
        raise SettingsError(f"{root}: --replace moves whole folders only; the user's {', '.join(loose)} "
                            "would be overwritten")
    taken = [rel for rel in conflicts if (root / BACKUP_DIR / rel).exists()]
    if taken:
        raise SettingsError(f"{root}: backup of {', '.join(taken)} already exists in {BACKUP_DIR}/; "
                            "restore or delete it first")
    for rel in conflicts:
        backup = f"{BACKUP_DIR}/{rel}"
        (root / backup).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).rename(root / backup)
        manifest.moved[rel] = backup
    manifest.save(root)  # before writing anything: an interruption from here on can still be undone


def install(root: Path, plan: ShimPlan, replace: bool = False) -> list[str]:
    """Write ``plan`` into the checkout at ``root``; returns the files written or rewritten.

    ``replace``: move the user's folders of the same names aside first (``uninstall`` restores them).
    """
    root = check_checkout(root)
    manifest = Manifest.load(root) or Manifest()
    modified = [rel for rel in _modified(root, manifest) if rel in plan.files]
    if modified:
        raise SettingsError(f"{root}: bridge files edited since installation: {', '.join(modified)} "
                            "(restore or delete them first)")
    conflicts = _conflicts(root, plan, manifest)
    if conflicts and not replace:
        raise SettingsError(f"{root}: not overwriting the user's {', '.join(conflicts)} "
                            "(install under another name with --prefix, or move it aside with --replace)")
    if conflicts:
        _move_aside(root, conflicts, plan, manifest)
    written = []
    for rel, text in plan.files.items():
        path = root / rel
        for parent in reversed(Path(rel).parents[:-1]):
            if not (root / parent).exists():
                (root / parent).mkdir()
                manifest.dirs.append(parent.as_posix())
        if not path.is_file() or path.read_text() != text:
            atomic_write_text(path, text)
            written.append(rel)
        manifest.files[rel] = sha256(path)
    manifest.save(root)
    return written


def _remove_bytecode(path: Path) -> None:
    cache = path.parent / "__pycache__"
    for compiled in cache.glob(f"{path.stem}.*.pyc") if cache.is_dir() else ():
        compiled.unlink()
    if cache.is_dir() and not any(cache.iterdir()):
        cache.rmdir()


def uninstall(root: Path) -> tuple[list[str], list[str]]:
    """Remove what ``install`` wrote; returns (files removed, created folders left because not empty)."""
    root = check_checkout(root)
    manifest = Manifest.load(root)
    if manifest is None:
        raise SettingsError(f"{root}: no {MANIFEST_NAME}; nothing was installed here by pytracking_ext.bridge")
    modified = _modified(root, manifest)
    if modified:
        raise SettingsError(f"{root}: refusing to delete files edited since installation: {', '.join(modified)}")
    missing = [backup for backup in manifest.moved.values() if not (root / backup).exists()]
    if missing:
        raise SettingsError(f"{root}: the user's folders moved aside at install are gone: {', '.join(missing)}")
    blocked = [rel for rel in manifest.moved if _holds_foreign_files(root, rel, manifest)]
    if blocked:
        raise SettingsError(f"{root}: cannot restore the user's {', '.join(blocked)}: files were added there "
                            "since installation; move them out first")
    removed = []
    for rel in manifest.files:
        path = root / rel
        if path.is_file():
            path.unlink()
            removed.append(rel)
        _remove_bytecode(path)
    kept = []
    for rel in sorted(manifest.dirs, key=lambda d: d.count("/"), reverse=True):
        folder = root / rel
        if folder.is_dir() and any(folder.iterdir()):
            kept.append(rel)
        elif folder.is_dir():
            folder.rmdir()
    for rel, backup in manifest.moved.items():
        (root / backup).rename(root / rel)
        _remove_empty_parents(root / backup, root)
    (root / MANIFEST_NAME).unlink()
    return removed, kept


def _holds_foreign_files(root: Path, rel: str, manifest: Manifest) -> bool:
    """Whether folder ``rel`` holds files other than the shims and their bytecode."""
    folder = root / rel
    if not folder.is_dir():
        return False
    return any(p.is_file() and p.relative_to(root).as_posix() not in manifest.files and p.parent.name != "__pycache__"
               for p in folder.rglob("*"))


def _remove_empty_parents(path: Path, root: Path) -> None:
    """Remove the now-empty folders between ``path`` and ``root`` (the backup tree)."""
    for parent in path.parents:
        if parent == root or not parent.is_dir() or any(parent.iterdir()):
            break
        parent.rmdir()
