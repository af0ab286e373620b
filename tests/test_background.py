import threading
import time

from townsquare.background import SingleFlight


def wait_until(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_one_job_per_key_at_a_time():
    jobs = SingleFlight("test")
    release = threading.Event()
    runs = []

    def job():
        runs.append(1)
        release.wait(5)

    assert jobs.start("a", job)
    assert not jobs.start("a", job)          # still running: not started twice
    assert jobs.start("b", lambda: None)     # another key runs independently
    assert jobs.running("a")
    release.set()
    wait_until(lambda: not jobs.running("a"))
    assert jobs.start("a", lambda: None)     # finished: may run again
    assert runs == [1]


def test_a_failing_job_is_logged_and_frees_its_key(caplog):
    jobs = SingleFlight("test")

    def boom():
        raise RuntimeError("database went away")

    assert jobs.start("k", boom)
    wait_until(lambda: not jobs.running("k"))
    assert "database went away" in caplog.text
    assert jobs.start("k", lambda: None)
