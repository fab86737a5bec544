"""The executor: skip when up to date, resume after a failure, --force, and clear failures."""
import json

import nbformat
import pytest

from adrec import reproduce


def make_notebook(path, body="x = n * 2"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "quick"\nseed = 0\ndevice = "auto"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(f'import adrec.run\nrun = adrec.run.start("{path.stem}", settings_from="smoke", profile=profile, seed=seed, device=device)\nn = run.settings["n"]'),
        nbformat.v4.new_code_cell(body),
        nbformat.v4.new_code_cell('run.record({"x": x, "n": n})'),
    ]
    nb.metadata["kernelspec"] = {"name": "adrec", "display_name": "adrec", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def nbdir(tmp_path, monkeypatch):
    # a fixed code digest: the skip logic is tested against notebook and parameter changes here,
    # and against a change of adrec's code in test_changed_adrec_code_reruns.
    monkeypatch.setattr(reproduce, "code_digest", lambda: "adrec-code-v1")
    d = tmp_path / "notebooks"
    d.mkdir()
    make_notebook(d / "01_first.ipynb")
    make_notebook(d / "02_second.ipynb", body="x = n + 1")
    return d


def metrics(tmp_path, stem, profile="quick"):
    return json.loads((tmp_path / "results" / profile / stem / "metrics.json").read_text())


def test_run_then_skip_then_force(nbdir, tmp_path, capsys):
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "[done] 01_first" in out and "[done] 02_second" in out
    m = metrics(tmp_path, "01_first")
    assert m["x"] == 20 and m["provenance"]["profile"] == "quick" and m["provenance"]["device"] == "cpu"
    assert (tmp_path / "results" / "quick" / "01_first" / "01_first.ipynb").exists()
    assert "01_first" in out.split("paper:")[1] and "20" in out  # the final metrics table

    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "[run ]" not in out and "nothing to do: all 2 notebook(s) are up to date" in out

    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "02", "--force"]) == 0
    out = capsys.readouterr().out
    assert "[done] 02_second" in out and "01_first" not in out.split("paper:")[0]


def test_full_profile_parameters_reach_the_notebook(nbdir, tmp_path):
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--only", "01_first", "--profile", "full",
                           "--device", "cpu"]) == 0
    assert metrics(tmp_path, "01_first", "full")["n"] == 1000


def test_failure_stops_with_notebook_cell_and_error_then_resumes(nbdir, tmp_path, capsys):
    make_notebook(nbdir / "02_second.ipynb", body="raise ValueError('deliberate failure')")
    make_notebook(nbdir / "03_third.ipynb")
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert "notebook 02_second.ipynb failed in cell 2 (counting from 0; it starts `raise ValueError(" in captured.err
    assert "ValueError: deliberate failure" in captured.err
    assert (tmp_path / "results" / "quick" / "01_first" / "stamp.json").exists()  # kept
    assert not (tmp_path / "results" / "quick" / "03_third").exists()  # never started

    make_notebook(nbdir / "02_second.ipynb", body="x = 5")  # fixed
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "[skip] 01_first" in out and "[done] 02_second" in out and "[done] 03_third" in out
    assert metrics(tmp_path, "02_second")["x"] == 5


def test_changed_notebook_reruns_alone(nbdir, capsys):
    reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"])
    capsys.readouterr()
    make_notebook(nbdir / "01_first.ipynb", body="x = n * 3")
    reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu"])
    out = capsys.readouterr().out
    assert "[done] 01_first" in out and "[skip] 02_second" in out


def test_bad_arguments_are_refused_before_work(nbdir, capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["--notebooks-dir", str(nbdir), "--profile", "huge"])
    assert "unknown profile 'huge'" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="matches no notebook"):
        reproduce.main(["--notebooks-dir", str(nbdir), "--only", "07"])


def test_changed_adrec_code_reruns(nbdir, monkeypatch, capsys):
    reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"])
    monkeypatch.setattr(reproduce, "code_digest", lambda: "adrec-code-v2")
    capsys.readouterr()
    reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "--only", "01"])
    assert "[done] 01_first" in capsys.readouterr().out


def test_code_digest_covers_the_package_sources():
    digest = reproduce.code_digest()
    assert len(digest) == 64 and digest == reproduce.code_digest()


def test_param_option_reaches_the_notebook_and_bad_ones_are_refused(nbdir, tmp_path, capsys):
    make_notebook(nbdir / "04_param.ipynb", body="x = n * factor")
    assert reproduce.main(["--notebooks-dir", str(nbdir), "--only", "04", "--device", "cpu",
                           "-p", "factor=3"]) == 0
    assert metrics(tmp_path, "04_param")["x"] == 30
    assert reproduce._parse_param("keras_models=[]") == ("keras_models", [])
    assert reproduce._parse_param("name=amazon-games") == ("name", "amazon-games")
    for bad in ("factor", "profile=full", "2x=1"):
        with pytest.raises(SystemExit):
            reproduce.main(["--notebooks-dir", str(nbdir), "--device", "cpu", "-p", bad])
        assert "bad --param" in capsys.readouterr().err


def test_git_commit_is_dirty_for_source_changes_only(tmp_path, monkeypatch):
    """A run's own outputs (executed notebooks, results, figures) do not mark its commit dirty; a
    changed source file does."""
    import subprocess

    from adrec import paths, run

    git = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    for name in ("adrec/model.py", "notebooks/05.ipynb", "results/quick/m.json", "figures/f.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("0\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(paths, "project_root", lambda: tmp_path)
    head = git("rev-parse", "HEAD").stdout.decode().strip()
    for name in ("notebooks/05.ipynb", "results/quick/m.json", "figures/f.png"):
        (tmp_path / name).write_text("1\n")
    assert run.git_commit() == head
    (tmp_path / "adrec/model.py").write_text("1\n")
    assert run.git_commit() == head + "-dirty"
    # a run keeps the commit it started from, even when the tree moves on before it records
    r = run.Run(notebook="n", profile="quick", seed=0, device="cpu", settings={}, environment={})
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "next")
    assert r.commit == head + "-dirty" and run.git_commit() not in (head, head + "-dirty")


def test_git_commit_without_history_is_the_senders(tmp_path, monkeypatch):
    """A copy of the working tree with no .git (what a GPU machine receives) records the commit the
    sender put in ADREC_GIT_COMMIT, and nothing when none was set; a real checkout ignores it."""
    from adrec import paths, run

    real_root = paths.project_root()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # no repository above tmp_path
    monkeypatch.setattr(paths, "project_root", lambda: tmp_path)
    monkeypatch.delenv("ADREC_GIT_COMMIT", raising=False)
    assert run.git_commit() is None
    monkeypatch.setenv("ADREC_GIT_COMMIT", "0123abc")
    assert run.git_commit() == "0123abc"
    monkeypatch.delenv("GIT_CEILING_DIRECTORIES")
    monkeypatch.setattr(paths, "project_root", lambda: real_root)
    assert run.git_commit() not in (None, "0123abc")
