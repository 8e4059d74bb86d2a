"""The lexical helper process: its own program, so a user script without a ``__main__`` guard runs once,
it stays quiet when the audit is interrupted, and whatever happens to it the numbers are the in-process ones."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mtaudit.stages import score

HYPS = ["The eleventh and the president spoke for telephone the Thursday.", "No reference here.", "Rare earth exports eased."]
REFS = [["Xi and Trump spoke by phone on Thursday.", "The two presidents talked on Thursday."], [],
        ["China eased rare earth exports.", "Exports of rare earths were eased."]]


def _env() -> dict[str, str]:
    """The test process's environment less any switch that would keep the helper from starting."""
    env = dict(os.environ)
    env.pop("MTAUDIT_LEXICAL_PROCESS", None)
    return env


def _gone(pid: int, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.1)):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_guardless_script_runs_once_and_gets_the_inline_numbers(tmp_path: Path) -> None:
    """spawn re-imported the script in the helper as ``__mp_main__``, running it (a whole audit) twice."""
    script = tmp_path / "user_script.py"  # no ``if __name__ == "__main__":``, as users write them
    script.write_text(
        "import json, os\nfrom mtaudit.stages import score\nfrom mtaudit.base.settings import Settings\n"
        "print('TOP-LEVEL', os.getpid(), flush=True)\n"
        f"job = score.submit_lexical({HYPS!r}, {REFS!r}, Settings(cache_dir={str(tmp_path / 'cache')!r}))\n"
        "answered = job.future is not None and job.future.exception(timeout=60) is None\n"
        "print(json.dumps({'scores': job.result(), 'answered': answered, 'helper': score._POOL.pid}), flush=True)\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(ln.startswith("TOP-LEVEL") for ln in lines) == 1, done.stdout
    out = json.loads(lines[-1])
    assert out["answered"], "the helper did not answer: the scores were computed in-process"
    assert out["helper"] != int(lines[0].split()[1])
    assert out["scores"] == [score.lexical(h, rs) if rs else None for h, rs in zip(HYPS, REFS)]
    assert done.stderr == ""


def _slow_pairs(n: int) -> list[tuple[str, list[str]]]:
    """Pairs whose TER takes well over a second in all (seeded): the helper is mid-job when the signal comes."""
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(300)]

    def sent() -> str:
        return " ".join(rng.choice(vocab) for _ in range(80))

    return [(sent(), [sent() for _ in range(4)]) for _ in range(n)]


@pytest.mark.parametrize("sig,busy", [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, True)])
def test_a_signal_to_the_process_group_leaves_the_helper_quiet(tmp_path: Path, sig: signal.Signals, busy: bool) -> None:
    """Ctrl-C printed the idle helper's own KeyboardInterrupt traceback, SIGTERM a leaked-semaphore warning.

    Idle is the common case (the neural scores take longest); busy, the helper must not hold up the exit.
    """
    pairs = _slow_pairs(40 if busy else 0)
    cache = str(tmp_path / "cache")
    script = tmp_path / "user_script.py"
    script.write_text(  # guarded, so that this tests the signals alone
        "import signal, time\nfrom mtaudit.stages import score\nfrom mtaudit.base.settings import Settings\n"
        "if __name__ == '__main__':\n"
        "    signal.signal(signal.SIGINT, signal.default_int_handler)  # as an interactive shell starts it\n"
        f"    score.submit_lexical({HYPS!r}, {REFS!r}, Settings(cache_dir={cache!r})).result()  # the helper is up\n"
        f"    job = score.submit_lexical({[h for h, _ in pairs]!r}, {[r for _, r in pairs]!r}, Settings(cache_dir={cache!r}))\n"
        "    print(score._POOL.pid, flush=True)\n"
        "    try:\n"
        f"        job.result() if {busy} else time.sleep(60)  # waiting on the helper, or on the neural scores\n"
        "        print('FINISHED', flush=True)\n"
        "    except KeyboardInterrupt:\n        print('INTERRUPTED', flush=True)\n")  # the caller's handling (the CLI's)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # a group of its own, as a shell job
    try:
        helper = int(proc.stdout.readline())  # type: ignore[union-attr]
        time.sleep(0.5)  # the helper has the job
        os.killpg(proc.pid, sig)
        started = time.monotonic()
        out, err = proc.communicate(timeout=30)
        assert time.monotonic() - started < 10, "the interrupted script took long to exit"
    finally:
        if proc.poll() is None:
            proc.kill()
    try:
        assert _gone(helper), "the helper outlived the interrupted script"
    finally:
        if not _gone(helper, 0.1):
            os.kill(helper, signal.SIGKILL)
    assert err == ""  # no traceback, no resource_tracker warning, from either process
    if sig == signal.SIGINT:
        assert out.splitlines()[-1] == "INTERRUPTED" and proc.returncode == 0
    else:
        assert proc.returncode == -signal.SIGTERM


def test_a_killed_helper_means_inline_numbers(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper dies mid-job: ``result()`` computes here, and a later job starts a new helper."""
    monkeypatch.delenv("MTAUDIT_LEXICAL_PROCESS", raising=False)
    cold = settings.replace(cache_dir=str(tmp_path))
    score.shutdown_pool()
    try:
        pairs = _slow_pairs(1)
        job = score.submit_lexical([h for h, _ in pairs], [r for _, r in pairs], cold)
        assert job.future is not None and score._POOL is not None
        os.kill(score._POOL.pid, signal.SIGKILL)
        with pytest.raises(RuntimeError):
            job.future.result(timeout=30)
        assert job.result() == score.lexical_many(pairs)
        with pytest.raises(RuntimeError):  # a dead helper takes no more work: the job computes here
            score._POOL.submit(pairs[:1])
        score.shutdown_pool()
        again = score.submit_lexical(HYPS, REFS, cold)
        assert again.future is not None and again.future.exception(timeout=60) is None
        assert again.result() == [score.lexical(h, rs) if rs else None for h, rs in zip(HYPS, REFS)]
    finally:
        score.shutdown_pool()


def test_no_helper_when_switched_off_or_daemonic(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    score.shutdown_pool()
    monkeypatch.setenv("MTAUDIT_LEXICAL_PROCESS", "0")
    assert score._pool() is None
    monkeypatch.delenv("MTAUDIT_LEXICAL_PROCESS")
    monkeypatch.setattr(multiprocessing.current_process(), "_config", {**multiprocessing.current_process()._config, "daemon": True})
    assert score._pool() is None
    assert score._POOL is None
