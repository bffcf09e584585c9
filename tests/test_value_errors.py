""".NET errors and states as Python users expect them: a missing directory is a
FileNotFoundError (as ``open()`` raises for a missing folder in a path); a cancellation's state
stays readable after its block."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _clr(clr: Any) -> Any:
    return clr


def test_missing_directory_in_a_path_is_file_not_found_error(tmp_path: Path) -> None:
    from System.IO import DirectoryNotFoundException, File

    missing = tmp_path / "no-such-folder" / "file.txt"
    with pytest.raises(FileNotFoundError) as info:
        File.ReadAllText(str(missing))
    assert isinstance(info.value, DirectoryNotFoundException)
    assert info.value.errno == errno.ENOENT
    with pytest.raises(FileNotFoundError):
        open(missing)  # noqa: SIM115 (what Python itself raises for the same path)


def test_listing_a_missing_directory_is_file_not_found_error(tmp_path: Path) -> None:
    from System.IO import Directory

    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        Directory.GetFiles(str(tmp_path / "no-such-folder"))


# ---- cancellation state after the block ------------------------------------------------------


def test_cancellation_state_stays_readable_after_the_block() -> None:
    import pyclrbridge

    with pyclrbridge.cancellation() as cancel:
        cancel.cancel()
    assert cancel.cancelled is True
    assert "cancelled=True" in repr(cancel)
    with pyclrbridge.cancellation() as untouched:
        pass
    assert untouched.cancelled is False
    untouched.cancel()  # after the block: nothing to cancel, and no error
    assert untouched.cancelled is False
