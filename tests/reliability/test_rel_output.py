"""Output folders and atomic writes: two runs never share a folder by accident; a failed write leaves the old file."""

from __future__ import annotations

import os

import pytest

from neurona import _files, cli, experiments
from neurona.datasets import cifar10
from neurona.experiments import _common
from neurona.experiments._common import MARKER, prepare_output
from neurona.experiments._output_folder import claim


# ----- prepare_output -------------------------------------------------------------------------------------

def test_a_new_folder_is_created_and_marked_as_neurona_s(tmp_path):
    out = prepare_output(tmp_path / "runs" / "a")
    assert out.is_dir() and (out / MARKER).exists()


def test_an_empty_folder_is_used(tmp_path):
    assert prepare_output(tmp_path) == tmp_path


@pytest.mark.parametrize("name", ["results.csv", ".hidden", "sub/"])
def test_a_non_empty_folder_is_refused_and_left_alone(tmp_path, name):
    entry = tmp_path / name.rstrip("/")
    entry.mkdir() if name.endswith("/") else entry.write_text("mine")
    with pytest.raises(FileExistsError, match=r"is not empty; pass --overwrite .* --resume .* -o"):
        prepare_output(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [entry.name]  # nothing added, nothing removed


def test_resume_keeps_the_folder_s_contents(tmp_path):
    out = prepare_output(tmp_path / "run")  # --resume continues a neurona run; it never adopts another folder
    (out / "checkpoint.npz").write_text("state")
    claim(out, set())
    prepare_output(out, resume=True)
    assert (out / "checkpoint.npz").read_text() == "state"


def test_overwrite_deletes_what_neurona_wrote_and_keeps_the_user_s_files(tmp_path):
    out = prepare_output(tmp_path / "run")
    (out / "notes.txt").write_text("mine")
    before = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    (out / "old.csv").write_text("stale")
    (out / "figures").mkdir()
    (out / "figures" / "loss.png").write_text("png")
    claim(out, before)  # what a run wrote since: neurona's
    prepare_output(out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "old.csv").exists() and not (out / "figures" / "loss.png").exists()


def test_overwrite_refuses_a_folder_neurona_did_not_create(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match=r"not created by neurona"):
        prepare_output(tmp_path, overwrite=True)
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_overwrite_does_not_follow_symbolic_links_out_of_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    out = prepare_output(tmp_path / "run")
    os.symlink(outside, out / "link")
    prepare_output(out, overwrite=True)
    assert (outside / "keep.txt").read_text() == "keep" and (out / "link").is_symlink()  # not neurona's: kept


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"exists and is not a folder"):
        prepare_output(tmp_path / "f")


@pytest.mark.parametrize("name", sorted(experiments.REGISTRY))
def test_every_experiment_refuses_a_non_empty_folder_before_doing_anything(tmp_path, monkeypatch, capsys, name):
    def no_network(*args, **kwargs):
        raise OSError("no network in tests")

    monkeypatch.setattr(cifar10, "_urlopen", no_network)
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert cli.main(["run", name, "-o", str(out), "--quick"]) == 2
    assert "is not empty" in capsys.readouterr().err  # refused for the folder, not for missing data
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


# ----- atomic_write ---------------------------------------------------------------------------------------

def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with _files.atomic_write(path, "w") as f:
            f.write("half of the new")
            raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_ctrl_c_during_a_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with _files.atomic_write(path) as f:
            f.write(b"new")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_the_temporary_file_is_beside_the_target_so_the_rename_is_atomic(tmp_path, monkeypatch):
    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renames.append((src, dst)), real_replace(src, dst)))
    with _files.atomic_write(tmp_path / "a" / "b.txt", "w") as f:
        f.write("x")
    (src, dst), = renames
    assert os.path.dirname(src) == os.path.dirname(dst) == str(tmp_path / "a")  # same folder: same filesystem
    assert os.path.basename(src).startswith(".b.txt.") and src.endswith(".tmp")  # hidden, recognisable
    assert (tmp_path / "a" / "b.txt").read_text() == "x"


def test_experiment_outputs_are_written_atomically(tmp_path, monkeypatch):
    calls = []
    real = _files.atomic_write
    monkeypatch.setattr(_common, "atomic_write", lambda path, mode="wb": (calls.append(str(path)), real(path, mode))[1])
    _common.write_json(tmp_path / "summary.json", {"a": 1})
    _common.write_history_csv(tmp_path / "history.csv", {"run": {"loss": [1.0]}})
    assert calls == [str(tmp_path / "summary.json"), str(tmp_path / "history.csv")]
