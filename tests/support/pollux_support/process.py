"""What every scratch server and child process of the tests needs: a command run to completion
with its output in the error, a bounded stop, and a log read back.

    from pollux_support.process import run_checked, terminate, read_text
    run_checked(["openssl", "version"], MyError, cwd=tmp)   # MyError with the output on failure
    terminate(proc, timeout=5)     # SIGTERM, SIGKILL after timeout; False when it had to kill
    read_text(log_path)            # "" when the file is not there (yet)
"""

import signal
import subprocess


def run_checked(args, error, cwd=None, timeout=60, context=""):
    """Runs `args`; raises `error` (an exception class) when it cannot start, times out or exits
    non-zero, with its output and `context` (say, a server's log) in the message."""
    try:
        p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise error("%s: %s" % (" ".join(args), e))
    if p.returncode != 0:
        raise error("%s exited with %d:\n%s%s" % (
            " ".join(args), p.returncode, p.stdout.decode(errors="replace"),
            "\n" + context if context else ""))
    return p


def terminate(proc, timeout):
    """SIGTERM and a bounded wait; SIGKILL when the process does not exit within `timeout` s.
    True when it exited by itself (or had already)."""
    if proc.poll() is not None:
        return True
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""
