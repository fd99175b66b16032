"""Output folders that never lose a user's file: a manifest of what neurona wrote, read by --overwrite and --resume.

A folder neurona prepared holds ``.neurona-output``, a small JSON manifest that lists (relative to the
folder) every file a run wrote there. ``--overwrite`` deletes exactly those files, so a file of the
user's in the same folder survives; ``--resume`` continues only in a folder that holds the marker.
A folder with its own marker inside (an exercise's folder under a report) keeps its own manifest.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from pathlib import Path, PurePosixPath

from .._files import atomic_write

MARKER = ".neurona-output"  # marks folders neurona created, and lists what it wrote there
_MANIFEST_MAX_BYTES = 4 * 1024 * 1024  # a report lists a few hundred files; anything far larger is not ours


class FolderRefused(FileExistsError):
    """The output folder cannot be used as asked; nothing in it was changed."""


def is_neurona_folder(out) -> bool:
    """Whether ``out`` is a folder that neurona prepared (it holds the marker)."""
    out = Path(out)
    return out.is_dir() and not out.is_symlink() and (out / MARKER).is_file()


def written_files(out) -> list:
    """The files the manifest says neurona wrote in ``out`` (relative posix paths); [] when there is none."""
    path = Path(out) / MARKER
    try:
        if not path.is_file() or path.stat().st_size > _MANIFEST_MAX_BYTES:
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # an unreadable or pre-manifest (empty) marker: claim nothing
        return []
    names = data.get("written") if isinstance(data, dict) else None
    return [n for n in names if _safe_relative(n)] if isinstance(names, list) else []


def _safe_relative(name) -> bool:
    """A manifest entry names a file strictly inside the folder: relative, no '..', no empty parts."""
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        return False
    parts = PurePosixPath(name).parts
    return not PurePosixPath(name).is_absolute() and ".." not in parts and "." not in parts and bool(parts)


def _write_manifest(out: Path, names) -> None:
    text = json.dumps({"written_by": "neurona", "written": sorted(set(names))}, indent=1) + "\n"
    with atomic_write(out / MARKER, "w") as f:
        f.write(text)


def _files_in(out: Path) -> set:
    """Every regular file under ``out`` (relative posix paths); symlinks and folders with their own marker left out."""
    found, stack = set(), [out]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if not (path / MARKER).is_file():
                    stack.append(path)
            elif entry.is_file() and entry.name != MARKER:
                found.add(path.relative_to(out).as_posix())
    return found


def _inside(out: Path, name: str) -> Path | None:
    """``out / name`` when no folder on the way is a symlink (so a deletion cannot leave the folder)."""
    path = out
    for part in PurePosixPath(name).parts[:-1]:
        path = path / part
        if path.is_symlink() or not path.is_dir():
            return None
    return path / PurePosixPath(name).parts[-1]


def remove_written(out: Path) -> None:
    """Delete the files neurona wrote in ``out`` (and in marked folders inside it); keep everything else."""
    emptied = set()
    for name in written_files(out):
        path = _inside(out, name)
        if path is not None and path.is_file() and not path.is_symlink():
            path.unlink()
            emptied.update(p for p in path.parents if p != out and out in p.parents)
    for folder in _marked_subfolders(out):
        remove_written(folder)
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()
    _write_manifest(out, [])


def _marked_subfolders(out: Path) -> list:
    found, stack = [], [out]
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.is_dir() and not entry.is_symlink():
                (found if (Path(entry.path) / MARKER).is_file() else stack).append(Path(entry.path))
    return found


def prepare_output(out_dir, overwrite: bool = False, resume: bool = False) -> Path:
    """Create ``out_dir`` for a run's results, or check it.

    A non-empty folder is refused unless ``resume`` (continue a run neurona started there) or
    ``overwrite`` (delete the files neurona wrote there first; the user's own files stay). Both
    need the folder to be one neurona prepared; a refused folder is left exactly as it was.

    Raises:
        FolderRefused: the folder is not empty (neither flag), or it holds no neurona run.
        ValueError: ``out_dir`` exists and is not a folder.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {str(out)!r} exists and is not a folder")
    ours = is_neurona_folder(out)
    if resume and not ours:
        state = "does not exist" if not out.exists() else "holds no neurona run"
        raise FolderRefused(f"cannot resume in {str(out)!r}: it {state}. Run the same command without --resume "
                            "to start, or point -o at the folder of the run to continue")
    if out.exists() and any(out.iterdir()) and not resume:
        if not overwrite:
            raise FolderRefused(f"output folder {str(out)!r} is not empty; pass --overwrite to replace its results "
                                "(or --resume to continue an interrupted run), or choose another folder with -o")
        if not ours:
            raise FolderRefused(f"output folder {str(out)!r} was not created by neurona, so --overwrite will not "
                                "touch it; choose another folder with -o")
        remove_written(out)
    out.mkdir(parents=True, exist_ok=True)
    if not ours or not (out / MARKER).stat().st_size:
        _write_manifest(out, written_files(out))
    return out


def claim(out, before: set) -> None:
    """Add to ``out``'s manifest every file there now that is not one of the user's files in ``before``."""
    out = Path(out)
    if is_neurona_folder(out):
        _write_manifest(out, set(written_files(out)) | (_files_in(out) - before))


def users_files(out) -> set:
    """The files in neurona's folder ``out`` that neurona did not write.

    Any other folder gives the empty set without being walked (a wrong ``-o ~`` must not scan a home
    folder): prepare_output refuses it unless it is empty, and a refused folder is never claimed.
    """
    out = Path(out)
    if not is_neurona_folder(out):
        return set()
    return _files_in(out) - set(written_files(out))


def records_outputs(run):
    """Decorate an experiment's ``run(..., out_dir, ...)``: what it writes into out_dir is listed in the manifest.

    The files of the user's that were there before are never listed, so a later --overwrite keeps them.
    The listing happens however the run ends (finished, failed or interrupted).
    """
    signature = inspect.signature(run)

    @functools.wraps(run)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        out = Path(bound.arguments["out_dir"])
        before = users_files(out)
        try:
            return run(*args, **kwargs)
        finally:
            claim(out, before)

    return wrapper
