""".ci/run's count and exit code, run for real with the suite and the fresh-machine check
replaced by stand-ins: an all-green suite exits 0 (it once read PIPESTATUS after a grep
that found no FAIL line and so failed every green run), a FAIL line fails, and a suite
that exits non-zero without one still counts as a failure."""

import os
import shutil
import stat
import subprocess
import tempfile

from harness import ROOT, main


def executable(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("#!/usr/bin/env bash\n" + text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


def run_ci(suite_lines, suite_exit, fresh_exit=0):
    """Runs a copy of .ci/run in a folder whose make prints suite_lines for `make test`."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, ".ci"))
        shutil.copy(os.path.join(ROOT, ".ci", "run"), os.path.join(d, ".ci", "run"))
        executable(os.path.join(d, "scripts", "deps.sh"), "exit 0\n")
        executable(os.path.join(d, "scripts", "fresh-machine.sh"), f"exit {fresh_exit}\n")
        lines = "".join(f"echo '{line}'\n" for line in suite_lines)
        executable(os.path.join(d, "bin", "make"),
                   'for a; do [ "$a" = test ] && break; done\n'
                   f'[ "$a" = test ] || exit 0\n{lines}exit {suite_exit}\n')
        env = dict(os.environ, PATH=os.path.join(d, "bin") + ":" + os.environ["PATH"],
                   SURGE_FRESH="all")
        p = subprocess.run(["bash", os.path.join(d, ".ci", "run")], env=env,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout.strip().splitlines()[-1]


def test_a_green_suite_passes():
    code, last = run_ci(["PASS a/one", "PASS a/two"], 0)
    assert (code, last) == (0, "3 passed, 0 failed"), (code, last)


def test_a_fail_line_fails():
    code, last = run_ci(["PASS a/one", "FAIL a/two"], 1)
    assert (code, last) == (1, "2 passed, 1 failed"), (code, last)


def test_a_suite_that_exits_non_zero_without_a_fail_line_fails():
    code, last = run_ci(["PASS a/one"], 2)
    assert (code, last) == (1, "2 passed, 1 failed"), (code, last)


def test_a_failed_fresh_machine_check_fails():
    code, last = run_ci(["PASS a/one"], 0, fresh_exit=1)
    assert (code, last) == (1, "1 passed, 1 failed"), (code, last)


if __name__ == "__main__":
    main([test_a_green_suite_passes, test_a_fail_line_fails,
          test_a_suite_that_exits_non_zero_without_a_fail_line_fails,
          test_a_failed_fresh_machine_check_fails])
