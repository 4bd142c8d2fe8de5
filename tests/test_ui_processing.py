"""New testimony → background processing with the real pipeline; the queue survives reloads and restarts."""

from __future__ import annotations

import threading
import time

import pytest

from tests.fixtures_ui import PASSPHRASE, add_testimony, assert_no_exception, open_app, texts
from workstation.services import jobs
from workstation.services.jobs import Job, JobState, SpeedMeter
from workstation.vault.session import VaultLockedError


def _fill_new(at, code: str, files, consent: bool = True):
    at.text_input[0].input(code)
    if consent:
        at.checkbox[0].check()
    at.file_uploader[0].set_value(files)
    return at.button(key="new_submit").click().run()


def test_speed_meter_estimates_time_left_from_measured_progress() -> None:
    m = SpeedMeter()
    assert m.add(100.0, 0.0) is None  # no evidence yet
    assert m.add(100.5, 0.01) is None  # under a second of evidence
    eta = m.add(110.0, 0.25)  # 25 % in 10 s → 30 s left
    assert eta == pytest.approx(30.0, rel=0.01)


@pytest.mark.slow
def test_consent_and_a_file_are_required(ui_users, ui_clip) -> None:
    at = open_app(ui_users["ivan"], "page_new.py")
    _fill_new(at, "C-1", (ui_clip.name, ui_clip.read_bytes(), "audio/wav"), consent=False)
    assert_no_exception(at)
    assert any("consent" in e.value for e in at.error)
    assert ui_users["ivan"].list_testimonies() == []


@pytest.mark.slow
def test_not_audio_is_a_clear_message_and_creates_nothing(ui_users) -> None:
    at = open_app(ui_users["ivan"], "page_new.py")
    _fill_new(at, "C-2", ("notes.wav", b"this is a text file, not a recording" * 10, "audio/wav"))
    assert_no_exception(at)
    assert at.error and "C-2" in at.error[0].value
    assert ui_users["ivan"].list_testimonies() == []


@pytest.mark.slow
def test_upload_is_processed_in_the_background_and_the_queue_shows_it(ui_users, ui_clip) -> None:
    ivan = ui_users["ivan"]
    at = open_app(ivan, "page_new.py")
    _fill_new(at, "C-3", [(ui_clip.name, ui_clip.read_bytes(), "audio/wav")])
    assert_no_exception(at)
    assert "queued for processing" in texts(at)
    queue = jobs.queue_for(ivan.path)
    job = queue.get("C-3")
    assert job is not None and job.state in (JobState.QUEUED, JobState.RUNNING, JobState.DONE)
    # the page returned at once: processing runs in the worker thread
    assert queue.wait_idle(300), "processing did not finish in 5 minutes"
    job = queue.get("C-3")
    assert job.state is JobState.DONE, job.error
    assert job.progress == 1.0 and job.finished_at >= job.started_at
    t = ivan.load("C-3")
    assert str(t.status) == "draft" and t.segments and any(s.ru.strip() for s in t.segments)
    record = ivan.load_extra("C-3", jobs.JOB_RECORD)  # persisted, encrypted, for reloads and restarts
    assert record["state"] == "done"
    page = open_app(ivan, "page_processing.py")  # "a reload": a new session sees the same job
    assert_no_exception(page)
    assert "C-3" in texts(page) and "Ready for review" in texts(page)


def _interrupted(session, case: str) -> None:
    """What a restart leaves behind: the vault says running, no worker in this process knows the job."""
    job = Job(case_code=case, user=session.user, state=JobState.RUNNING, progress=0.4, started_at=time.time() - 60)
    session.save_extra(case, jobs.JOB_RECORD, job.to_dict())
    jobs.drop_queue(session.path)


def _unlocked_via_form(user: str):
    """Unlock through the screen (that is where restart recovery runs)."""
    at = open_app()
    at.text_input[0].input(user)
    at.text_input[1].input(PASSPHRASE)
    return at.button(key="unlock_btn").click().run()


@pytest.mark.slow
def test_after_restart_a_translator_sees_the_job_reported_as_interrupted(ui_users, ui_clip) -> None:
    add_testimony(ui_users["ivan"], "C-4", ui_clip)
    _interrupted(ui_users["ivan"], "C-4")
    at = _unlocked_via_form("tanya")
    assert_no_exception(at)
    assert "stopped while recordings were being processed" in texts(at)
    job = jobs.queue_for(ui_users["tanya"].path).get("C-4")
    assert job.state is JobState.INTERRUPTED
    at.switch_page("page_processing.py").run()
    assert "interrupted" in texts(at) and "40% done" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith(("retry_", "cancel_"))]  # translators cannot


@pytest.mark.slow
def test_after_restart_the_owner_gets_the_job_resumed(ui_users, ui_clip) -> None:
    add_testimony(ui_users["ivan"], "C-5", ui_clip)
    _interrupted(ui_users["ivan"], "C-5")
    at = _unlocked_via_form("ivan")
    assert_no_exception(at)
    queue = jobs.queue_for(ui_users["ivan"].path)
    job = queue.get("C-5")
    assert job.state in (JobState.QUEUED, JobState.RUNNING, JobState.DONE)
    assert "started again from the beginning" in job.note
    queue.cancel("C-5")  # the real run is covered above; stop it here to keep the test short
    assert queue.wait_idle(120)
    assert queue.get("C-5").state in (JobState.CANCELLED, JobState.DONE)


@pytest.mark.slow
def test_lock_keeps_the_session_until_its_job_ends(ui_users, ui_clip) -> None:
    ivan = ui_users["ivan"]
    add_testimony(ivan, "C-6", ui_clip)
    started, release = threading.Event(), threading.Event()

    def runner(data, options, progress, cancel):
        progress(0.5, "transcribing")
        started.set()
        release.wait(30)
        raise RuntimeError("stopped by the test")

    queue = jobs.JobQueue(runner=runner)
    queue.submit(ivan, "C-6")
    assert started.wait(30), "the queue never started the job"
    assert queue.release(ivan) is False  # a job is running: the session stays open for it
    ivan.load("C-6")  # still unlocked
    release.set()
    assert queue.wait_idle(30)
    assert queue.get("C-6").state is JobState.FAILED and "unexpectedly" in queue.get("C-6").error
    with pytest.raises(VaultLockedError, match="This session is locked"):
        ivan.load("C-6")  # locked once its last job ended
    queue.shutdown()


@pytest.mark.slow
def test_a_missing_model_is_a_clear_message_in_the_queue(ui_users, ui_clip) -> None:
    ivan = ui_users["ivan"]
    add_testimony(ivan, "C-7", ui_clip)
    at = open_app(ivan, "page_processing.py")
    at.button(key="start_C-7").click().run()  # "Sealed, not processed" → Process
    queue = jobs.queue_for(ivan.path)
    queue.cancel("C-7")
    assert queue.wait_idle(120)
    queue.submit(jobs.serialized(ivan), "C-7", {"model": "no-such-model"})
    assert queue.wait_idle(60)
    job = queue.get("C-7")
    assert job.state is JobState.FAILED and "no-such-model" in job.error and "unexpectedly" not in job.error
    at.run()
    assert_no_exception(at)
    assert any("no-such-model" in e.value for e in at.error)
    assert at.button(key="retry_C-7")  # the recording is still sealed: it can be processed again
