"""Local files are written atomically and never through a planted link (issue 11, defect 6).

``report --out`` used to write ``.NAME.partial`` next to the target and rename it: a link planted
at that predictable name made it overwrite the link's target. Every local file the package writes
now goes through ``mlflow_staleness._files``: a ``mkstemp`` file in the target's folder, renamed
over the target. The last test keeps it that way: no other module of the package opens a file
for writing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from bad_inputs import LABEL, PRED, reference_frame, window_frame
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_helpers import register_version, unique_name

import mlflow_staleness
from mlflow_staleness import CostModel
from mlflow_staleness._files import write_atomic
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.plots import plot_history

COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")
SECRET = b"a file the user cares about\n"


def _victim(folder: Path) -> Path:
    victim = folder / "victim.txt"
    victim.write_bytes(SECRET)
    return victim


@pytest.fixture
def advised(sqlite_uri: str) -> str:
    name = unique_name("files")
    register_version(
        sqlite_uri, name, reference_frame(), target=LABEL, alias="champion", log_model=False
    )
    Advisor(name, cost=COST, tracking_uri=sqlite_uri).advise(
        window_frame(), labels=LABEL, predictions=PRED, window="w1"
    )
    return name


def test_report_out_never_writes_through_a_link_at_the_old_temporary_name(
    sqlite_uri: str, advised: str, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    victim = _victim(tmp_path)
    planted = out_dir / ".report.html.partial"
    planted.symlink_to(victim)
    result = CliRunner().invoke(
        main,
        ["report", advised, "--out", str(out_dir / "report.html"), "--tracking-uri", sqlite_uri],
    )
    assert result.exit_code == 0, result.stderr
    assert victim.read_bytes() == SECRET
    assert planted.is_symlink()
    assert "<html" in (out_dir / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in out_dir.iterdir()) == [".report.html.partial", "report.html"]


def test_report_out_replaces_a_link_at_the_target_instead_of_writing_through_it(
    sqlite_uri: str, advised: str, tmp_path: Path
) -> None:
    victim = _victim(tmp_path)
    out = tmp_path / "report.html"
    out.symlink_to(victim)
    result = CliRunner().invoke(
        main, ["report", advised, "--out", str(out), "--tracking-uri", sqlite_uri]
    )
    assert result.exit_code == 0, result.stderr
    assert victim.read_bytes() == SECRET
    assert not out.is_symlink()
    assert "<html" in out.read_text(encoding="utf-8")


def test_fingerprint_out_is_written_atomically_past_planted_links(tmp_path: Path) -> None:
    data = tmp_path / "data.parquet"
    reference_frame().to_parquet(data)
    victim = _victim(tmp_path)
    out = tmp_path / "fp.json"
    for name in (".fp.json.partial", "fp.json.tmp", ".fp.json.tmp"):
        (tmp_path / name).symlink_to(victim)
    out.symlink_to(victim)
    result = CliRunner().invoke(main, ["fingerprint", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert victim.read_bytes() == SECRET
    assert out.read_text(encoding="utf-8").startswith('{"format_version":')


def test_a_plot_saved_to_a_path_replaces_a_link_there(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    out = tmp_path / "plot.png"
    out.symlink_to(victim)
    png = plot_history([], retrain_cost=1.0, currency="EUR", model_name="m", path=out)
    assert victim.read_bytes() == SECRET
    assert out.read_bytes() == png


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(IsADirectoryError):
        write_atomic(target, b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_a_new_file_gets_the_usual_mode_and_a_replaced_file_keeps_its_own(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    write_atomic(tmp_path / "new.txt", "x")
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o666 & ~umask
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    write_atomic(kept, "new")
    assert kept.stat().st_mode & 0o777 == 0o640
    assert kept.read_text() == "new"


NAMES = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N"), include_characters="._- "),
    min_size=1,
    max_size=20,
).filter(lambda s: s not in (".", "..") and not s.startswith(".victim"))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAMES, payload=st.binary(max_size=2048), planted=st.lists(NAMES, max_size=4))
def test_write_atomic_writes_the_target_only(
    tmp_path: Path, name: str, payload: bytes, planted: list[str]
) -> None:
    folder = tmp_path / f"case-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    victim = folder / ".victim"
    victim.write_bytes(SECRET)
    links = {n for n in planted if n != name}
    for link in links:
        (folder / link).symlink_to(victim)
    write_atomic(folder / name, payload)
    assert (folder / name).read_bytes() == payload
    assert victim.read_bytes() == SECRET
    assert {p.name for p in folder.iterdir()} == {name, ".victim", *links}


# ---------------------------------------------------------------------------------- the review
_WRITER = re.compile(
    r"""\.write_(text|bytes)\(|open\([^)]*['"][wax]b?\+?['"]|savez(_compressed)?\(\s*(?!handle)"""
    r"""|savefig\(\s*(?!buf)|\.to_(parquet|csv)\((?!path, encoding='utf-8'\) or)"""
)
#: Writes into a folder of the package's own ``tempfile.TemporaryDirectory`` (mode 0700, a
#: random name): nobody else can plant anything there.
_PRIVATE = {("adapter/writing.py", "path.write_bytes(payload)")}


def test_no_module_but_files_writes_a_local_file() -> None:
    """Every local write goes through ``_files`` (doctest examples are not the package's writes)."""
    package = Path(mlflow_staleness.__file__).parent
    found = []
    for source in sorted(package.rglob("*.py")):
        if source.name == "_files.py":
            continue
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            code = line.strip()
            if code.startswith((">>>", "...")):
                continue
            if _WRITER.search(code) and (str(source.relative_to(package)), code) not in _PRIVATE:
                found.append(f"{source.relative_to(package)}:{number}: {code}")
    assert not found, "\n".join(found)
