"""Install and uninstall the shims in a PyTracking checkout, keeping a manifest of what was written.

The manifest (``.pytracking_ext_bridge.json`` at the checkout root) lists every file written with
its SHA-256 and every folder created, so ``uninstall`` removes exactly those and refuses to delete
a file the user has edited since. ``install`` is idempotent and never writes into a tracker,
parameter or train-settings folder, or over a file, that it did not create. With ``replace`` the
user's folders of the same names are moved aside into ``.pytracking_ext_bridge_backup/`` (and the
manifest says where), so the checkout's own ``run_tracker.py rts rts50`` runs ours; ``uninstall``
moves them back.

Nothing leaves the checkout: every path, whether planned by us or read from a manifest (which anyone
could have planted), must be a plain relative path that stays inside the checkout once symbolic
links are followed, or the whole operation is refused before anything changes. ``install`` records
what it is about to do in the manifest before doing it (so even a killed install can be uninstalled)
and undoes every step when it fails (so a failed install leaves the checkout as it was).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SettingsError
from ..utils.io import atomic_write_bytes, atomic_write_text
from .shims import ShimPlan

MANIFEST_NAME = ".pytracking_ext_bridge.json"
BACKUP_DIR = ".pytracking_ext_bridge_backup"
#: Paths whose presence identifies a PyTracking checkout.
CHECKOUT_MARKERS = (
    "pytracking/__init__.py",
    "ltr/__init__.py",
    "pytracking/evaluation/tracker.py",
    "pytracking/tracker",
    "pytracking/parameter",
    "ltr/train_settings",
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MANIFEST_FIELDS = ("files", "dirs", "moved")


def outside_reason(root: Path, rel: str) -> str | None:
    """Why ``rel`` does not name a path inside ``root`` (resolved), or ``None`` when it does.

    Only plain relative POSIX paths are accepted (no absolute path, no empty, ``.`` or ``..`` part),
    and the path, with every symbolic link on it followed, must stay under ``root``.
    """
    if not rel or "\0" in rel or "\\" in rel:
        return "is not a plain relative path"
    if rel.startswith("/") or any(part in ("", ".", "..") for part in rel.split("/")):
        return "points outside the checkout (or is not a plain relative path)"
    if not Path(os.path.realpath(root / rel)).is_relative_to(root):
        return "points outside the checkout through a symbolic link"
    return None


@dataclass
class Manifest:
    """What the bridge wrote into one checkout."""

    files: dict[str, str] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    #: user folders moved aside by ``install(replace=True)``: original path -> backup path
    moved: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Manifest | None:
        """The manifest in checkout ``root`` (resolved), checked entry by entry; ``None`` when there is none."""
        path = root / MANIFEST_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise SettingsError(f"{path}: unreadable bridge manifest ({err}); fix or delete it") from None
        manifest = cls._from_data(path, data)
        manifest.check_paths(root)
        return manifest

    @classmethod
    def _from_data(cls, path: Path, data: object) -> Manifest:
        """The manifest in the JSON ``data``, refusing any field or entry of the wrong shape."""

        def bad(what: str) -> SettingsError:
            return SettingsError(f"{path}: bridge manifest {what}; refusing to use it (fix or delete it)")

        if not isinstance(data, dict) or not {"files", "dirs"} <= set(data):
            raise bad("lacks 'files' and 'dirs'")
        unknown = sorted(set(data) - set(_MANIFEST_FIELDS))
        if unknown:
            raise bad(f"has unknown fields {', '.join(map(repr, unknown))}")
        files, dirs, moved = data["files"], data["dirs"], data.get("moved", {})
        if not isinstance(files, dict) or not isinstance(moved, dict) or not isinstance(dirs, list):
            raise bad("fields have the wrong types ('files' and 'moved' are objects, 'dirs' a list)")
        for rel, digest in files.items():
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise bad(f"'files' entry {rel!r} has no SHA-256 (got {digest!r})")
        for rel in [*dirs, *moved.values()]:
            if not isinstance(rel, str):
                raise bad(f"has a path that is not a string: {rel!r}")
        return cls(dict(files), list(dirs), dict(moved))

    def check_paths(self, root: Path) -> None:
        """Refuse the manifest when a path it names is outside ``root``, or a backup is not where install puts it."""
        entries = [("files", rel) for rel in self.files] + [("dirs", rel) for rel in self.dirs]
        entries += [("moved", rel) for pair in self.moved.items() for rel in pair]
        for where, rel in entries:
            reason = outside_reason(root, rel)
            if reason:
                raise SettingsError(
                    f"{root / MANIFEST_NAME}: '{where}' entry {rel!r} {reason}; "
                    "refusing to touch anything (fix or delete the manifest)"
                )
        reserved = [rel for rel in [*self.files, *self.dirs] if _under(rel, [MANIFEST_NAME, BACKUP_DIR])]
        if reserved:
            raise SettingsError(
                f"{root / MANIFEST_NAME}: names the bridge's own {reserved[0]!r} as a shim; "
                "refusing to touch anything (fix or delete the manifest)"
            )
        for rel, backup in self.moved.items():
            if backup != f"{BACKUP_DIR}/{rel}":
                raise SettingsError(
                    f"{root / MANIFEST_NAME}: 'moved' entry {rel!r} -> {backup!r} is not where "
                    f"install keeps a backup ({BACKUP_DIR}/{rel}); refusing to touch anything"
                )

    def to_json(self) -> str:
        data = {"files": dict(sorted(self.files.items())), "dirs": self.dirs, "moved": self.moved}
        return json.dumps(data, indent=1) + "\n"

    def save(self, root: Path) -> None:
        atomic_write_text(root / MANIFEST_NAME, self.to_json())


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


def _check_plan(root: Path, plan: ShimPlan) -> None:
    """Refuse a plan that would write anywhere but inside ``root``."""
    for rel in [*plan.owned_dirs, *plan.files]:
        reason = outside_reason(root, rel)
        if reason:
            raise SettingsError(f"{root}: shim path {rel!r} {reason}; nothing was written")


def _modified(root: Path, manifest: Manifest) -> list[str]:
    return [rel for rel, digest in manifest.files.items() if (root / rel).is_file() and sha256(root / rel) != digest]


def _conflicts(root: Path, plan: ShimPlan, manifest: Manifest) -> list[str]:
    """User folders/files that installing ``plan`` would write into or over."""
    ours = set(manifest.files) | set(manifest.dirs)
    conflicts = [d for d in plan.owned_dirs if (root / d).exists() and d not in manifest.dirs]
    conflicts += [
        rel
        for rel in plan.files
        if (root / rel).exists() and rel not in ours and not any(rel.startswith(d + "/") for d in conflicts)
    ]
    return conflicts


def _check_move_aside(root: Path, conflicts: list[str], plan: ShimPlan) -> None:
    """Refuse ``--replace`` when it would overwrite loose user files or an earlier backup."""
    loose = [rel for rel in conflicts if rel not in plan.owned_dirs]
    if loose:
        raise SettingsError(
            f"{root}: --replace moves whole folders only; the user's {', '.join(loose)} would be overwritten"
        )
    taken = [rel for rel in conflicts if (root / BACKUP_DIR / rel).exists()]
    if taken:
        raise SettingsError(
            f"{root}: backup of {', '.join(taken)} already exists in {BACKUP_DIR}/; restore or delete it first"
        )


def _under(rel: str, folders: list[str]) -> bool:
    return any(rel == folder or rel.startswith(folder + "/") for folder in folders)


def _folders_to_create(root: Path, files: list[str], moved_away: list[str]) -> list[str]:
    """Parents of ``files`` that will not exist once ``moved_away`` is gone, outermost first."""
    needed: list[str] = []
    for rel in files:
        for parent in reversed(Path(rel).parents[:-1]):
            name = parent.as_posix()
            exists = (root / name).exists() and not _under(name, moved_away)
            if not exists and name not in needed:
                needed.append(name)
    return needed


class _Steps:
    """Changes made to a checkout, each undone in reverse order by :meth:`roll_back`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.current = ""  # the step under way, named in error messages
        self._undo: list[tuple[str, Callable[[], None]]] = []

    def mkdir(self, rel: str) -> None:
        self.current = rel
        (self.root / rel).mkdir()
        self._undo.append((rel, (self.root / rel).rmdir))

    def makedirs(self, rel: str) -> None:
        for parent in [*reversed(Path(rel).parents[:-1]), Path(rel)]:
            if not (self.root / parent).is_dir():
                self.mkdir(parent.as_posix())

    def move(self, rel: str, to: str) -> None:
        self.current = rel
        (self.root / rel).rename(self.root / to)
        self._undo.append((rel, lambda: (self.root / to).rename(self.root / rel)))

    def write(self, rel: str, data: bytes) -> None:
        self.current = rel
        path = self.root / rel
        previous = path.read_bytes() if path.is_file() else None
        atomic_write_bytes(path, data)
        self._undo.append((rel, path.unlink if previous is None else lambda: atomic_write_bytes(path, previous)))

    def roll_back(self) -> list[str]:
        """Undo every step, newest first; returns the steps that could not be undone."""
        failed = []
        for rel, undo in reversed(self._undo):
            try:
                undo()
            except OSError as err:
                failed.append(f"{rel} ({err.strerror or err})")
        self._undo.clear()
        return failed


def install(root: Path, plan: ShimPlan, replace: bool = False) -> list[str]:
    """Write ``plan`` into the checkout at ``root``; returns the files written or rewritten.

    ``replace``: move the user's folders of the same names aside first (``uninstall`` restores them).
    On failure every change is undone and a one-line :class:`SettingsError` names the step that failed.
    """
    root = check_checkout(root)
    _check_plan(root, plan)
    manifest = Manifest.load(root) or Manifest()
    modified = [rel for rel in _modified(root, manifest) if rel in plan.files]
    if modified:
        raise SettingsError(
            f"{root}: bridge files edited since installation: {', '.join(modified)} (restore or delete them first)"
        )
    conflicts = _conflicts(root, plan, manifest)
    if conflicts and not replace:
        raise SettingsError(
            f"{root}: not overwriting the user's {', '.join(conflicts)} "
            "(install under another name with --prefix, or move it aside with --replace)"
        )
    if conflicts:
        _check_move_aside(root, conflicts, plan)
    steps = _Steps(root)
    try:
        return _apply(root, plan, manifest, conflicts, steps)
    except BaseException as err:
        failed = steps.roll_back()
        if not isinstance(err, OSError):
            raise
        undo = f"; could not undo {', '.join(failed)}" if failed else "; the checkout was left as it was"
        raise SettingsError(f"{root}: install failed at {steps.current} ({err.strerror or err}){undo}") from None


def _apply(root: Path, plan: ShimPlan, manifest: Manifest, conflicts: list[str], steps: _Steps) -> list[str]:
    """Record the whole install in the manifest, then move, create and write; returns the files written."""
    contents = {rel: text.encode("utf-8") for rel, text in plan.files.items()}
    new_dirs = _folders_to_create(root, list(contents), conflicts)
    old_json = manifest.to_json() if (root / MANIFEST_NAME).is_file() else None
    manifest.moved.update({rel: f"{BACKUP_DIR}/{rel}" for rel in conflicts})
    manifest.dirs += [rel for rel in new_dirs if rel not in manifest.dirs]
    manifest.files.update({rel: hashlib.sha256(data).hexdigest() for rel, data in contents.items()})
    if manifest.to_json() != old_json:
        # Recorded before anything is written: an install killed from here on can still be uninstalled.
        steps.write(MANIFEST_NAME, manifest.to_json().encode("utf-8"))
    for rel in conflicts:
        steps.makedirs(f"{BACKUP_DIR}/{Path(rel).parent.as_posix()}")
        steps.move(rel, manifest.moved[rel])
    for rel in new_dirs:
        steps.mkdir(rel)
    written = []
    for rel, data in contents.items():
        path = root / rel
        if not path.is_file() or path.read_bytes() != data:
            steps.write(rel, data)
            written.append(rel)
    return written


def _remove_bytecode(path: Path, root: Path) -> None:
    cache = path.parent / "__pycache__"
    if cache.is_symlink() or not cache.is_dir() or not cache.resolve().is_relative_to(root):
        return
    for compiled in cache.glob(f"{path.stem}.*.pyc"):
        compiled.unlink()
    if not any(cache.iterdir()):
        cache.rmdir()


def _remove_unfinished_writes(path: Path) -> None:
    """Remove the temporary siblings an atomic write of ``path`` leaves when the process is killed."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp") if path.parent.is_dir() else ():
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink()


def uninstall(root: Path) -> tuple[list[str], list[str]]:
    """Remove what ``install`` wrote; returns (files removed, created folders left because not empty).

    Every check (paths inside the checkout, hashes, backups present) passes before anything is removed.
    """
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
        raise SettingsError(
            f"{root}: cannot restore the user's {', '.join(blocked)}: files were added there "
            "since installation; move them out first"
        )
    removed = []
    for rel in manifest.files:
        path = root / rel
        if path.is_file():
            path.unlink()
            removed.append(rel)
        _remove_bytecode(path, root)
        _remove_unfinished_writes(path)
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
    return any(
        p.is_file() and p.relative_to(root).as_posix() not in manifest.files and p.parent.name != "__pycache__"
        for p in folder.rglob("*")
    )


def _remove_empty_parents(path: Path, root: Path) -> None:
    """Remove the now-empty folders between ``path`` and ``root`` (the backup tree)."""
    for parent in path.parents:
        if parent == root or not parent.is_dir() or any(parent.iterdir()):
            break
        parent.rmdir()
