"""The embedded server's system user, created once when processes start together as root (on a
new machine the suite's workers each ran useradd and one initdb lost its uid)."""

import multiprocessing
import os
import pwd
import subprocess
from pathlib import Path

from app.core.embedded import ensure_system_user

NAME = f"itk_user_race_{os.getpid()}"


def _create_and_look(lock: Path) -> tuple[int | None, int]:
    created = ensure_system_user(NAME, lock)
    return created, pwd.getpwnam(NAME).pw_uid


def _exists() -> bool:
    try:
        pwd.getpwnam(NAME)
    except KeyError:
        return False
    return True


def test_processes_starting_together_create_one_user(tmp_path: Path) -> None:
    lock = tmp_path / "user.lock"
    assert not _exists()
    if os.geteuid() != 0:
        # Not root: the package runs PostgreSQL as this user and creates no one.
        assert ensure_system_user(NAME, lock) is None
        assert not _exists()
        return
    try:
        with multiprocessing.get_context("fork").Pool(6) as pool:
            seen = pool.map(_create_and_look, [lock] * 12)
        assert {uid for pair in seen for uid in pair} == {pwd.getpwnam(NAME).pw_uid}
    finally:
        subprocess.run(["userdel", NAME], check=False, capture_output=True)
    assert not _exists()
