"""Run a shell command with a throwaway PostgreSQL: `python tests/with_db.py "pytest ... && pytest ..."`.

The embedded server lives in a temp dir and is deleted afterwards; DATABASE_URL names it for the command.
If DATABASE_URL is already set, that server is used and nothing is started. Exits with the command's code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    command = " ".join(sys.argv[1:])
    if os.environ.get("DATABASE_URL"):
        return subprocess.call(command, shell=True)
    from course import db

    folder = Path(tempfile.mkdtemp(prefix="course-test-db-"))
    os.chmod(folder, 0o755)
    try:
        server = db.start_embedded(folder / "pgdata")
        return subprocess.call(command, shell=True, env={**os.environ, "DATABASE_URL": server.admin_url})
    finally:
        db.stop_embedded(folder / "pgdata")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
