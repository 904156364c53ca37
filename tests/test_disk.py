"""The disk: unwritable and full output locations are a clear exit 3, never a folder that looks
complete, and the run resumes once there is room.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest
from robust import (
    DATA_OUTPUTS,
    assert_never_falsely_complete,
    clean_cli_result,
    invoke,
    manifest,
    same_as_reference,
)


# ---------------------------------------------------------------------------------------------
# 5. the disk: unwritable and full output locations
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def tmpfs(path: Path, size: str, *options: str):
    """A small tmpfs mounted at ``path`` (root only; skips the test where mounting is not
    allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}); needs root "
                    "and CAP_SYS_ADMIN")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_output_under_a_regular_file_is_a_clear_exit_3(tiny, tmp_path):
    """An --out nobody can create (a path below a regular file; chmod does not stop root): exit
    3."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = invoke("run", tiny, "-n", 1, "--executor", "serial", "--out", blocker / "sub", "-q")
    clean_cli_result(r, codes=(3,))
    assert f"error: {blocker / 'sub'}: cannot write results (Not a directory)" in r.stderr
    assert blocker.read_text() == "not a folder"


def test_read_only_output_location_is_a_clear_exit_3(tiny, tmp_path):
    """An output folder that cannot be written (read-only) is exit 3 with one paragraph."""
    with tmpfs(tmp_path / "ro", "1m", "ro") as ro:
        r = invoke("run", tiny, "-n", 1, "--executor", "serial", "--out", ro / "out", "-q")
        clean_cli_result(r, codes=(3,))
        assert "cannot write results (Read-only file system)" in r.stderr
        assert not (ro / "out").exists()


@pytest.mark.slow
def test_full_disk_is_a_clear_exit_3_never_complete_and_resumable(tiny, reference, tmp_path):
    """Disks that fill up at every stage (the manifest, a part, consolidation, summary.json, the
    final status): exit 3 and one paragraph; never 'complete'; after freeing space, resume ends
    identical."""
    n = 2
    stages = set()
    for size in ("16k", "48k", "224k", "440k", "480k", "520k", "560k", "640k", "1m"):
        with tmpfs(tmp_path / f"disk-{size}", size) as disk:
            out = disk / "out"
            r = invoke("run", tiny, "-n", n, "--executor", "serial", "--out", out, "-q")
            clean_cli_result(r, codes=(0, 3))
            status = assert_never_falsely_complete(out, reference, n)
            if r.exit_code == 3:
                assert status != "complete"
                assert (
                    "cannot write results (" in r.stderr and "No space left on device" in r.stderr
                )
                assert "Nothing written there counts as done" in r.stderr
                stages.add(
                    (status, tuple(sorted(p.name for p in out.iterdir() if p.name in DATA_OUTPUTS)))
                )
                # space freed
                subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)
                if status == "missing":
                    r = invoke(
                        "run", tiny, "-n", n, "--executor", "serial", "--out", out, "--force", "-q"
                    )
                else:
                    r = invoke("resume", out, "--executor", "serial", "-q")
                assert r.exit_code == 0, r.output
            assert manifest(out)["status"] == "complete"
            same_as_reference(out, reference, n)
    # the sizes hit the disk filling up before the manifest, during the run, while consolidating and
    # (on this version's file sizes) with every output but the final status written
    assert ("missing", ()) in stages
    assert ("running", ()) in stages
    assert any(files for _, files in stages), stages


