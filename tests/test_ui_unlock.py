"""Unlock screen, first launch, Lock now and the idle lock (Streamlit AppTest, real vault)."""

from __future__ import annotations

import re
import time

import pytest

from tests.fixtures_ui import PASSPHRASE, assert_no_exception, open_app, texts
from workstation.vault.session import VaultLockedError


def _unlock(at, user: str, passphrase: str):
    at.text_input[0].input(user)
    at.text_input[1].input(passphrase)
    return at.button(key="unlock_btn").click().run()


@pytest.mark.slow
def test_first_launch_offers_to_create_the_vault_and_unlocks_the_editor(ui_vault) -> None:
    from workstation.vault import session as vault

    at = open_app()
    assert "Welcome to Testimony Workstation" in texts(at)
    at.text_input[0].input("edna")
    at.text_input[1].input(PASSPHRASE)
    at.text_input[2].input(PASSPHRASE + "x")
    at.button(key="create_btn").click().run()
    assert "differ" in texts(at) and not vault.vault_exists(ui_vault)
    at.text_input[0].input("edna")
    at.text_input[1].input("short")
    at.text_input[2].input("short")
    at.button(key="create_btn").click().run()
    assert_no_exception(at)
    assert "too short" in texts(at) and not vault.vault_exists(ui_vault)  # the vault's rule, said plainly
    assert at.session_state["create_pass"] == ""  # the passphrase does not linger
    at.text_input[0].input("edna")
    at.text_input[1].input(PASSPHRASE)
    at.text_input[2].input(PASSPHRASE)
    at.button(key="create_btn").click().run()
    assert_no_exception(at)
    assert vault.vault_exists(ui_vault)
    assert at.session_state["vault_session"].user == "edna"
    assert str(at.session_state["vault_session"].role) == "editor"
    assert "Testimonies" in [t.value for t in at.title]


@pytest.mark.slow
def test_wrong_passphrase_and_unknown_user_are_clear_messages(ui_users) -> None:
    at = open_app()
    assert "Unlock Testimony Workstation" in texts(at)
    _unlock(at, "tanya", "not the passphrase")
    assert_no_exception(at)
    assert [e.value for e in at.error] == [
        "That passphrase does not open the account tanya. Check the keyboard layout and Caps Lock and try again; "
        "repeated failures make you wait longer."]
    assert "vault_session" not in at.session_state
    _unlock(at, "nobody", PASSPHRASE)
    assert_no_exception(at)
    assert len(at.error) == 1 and at.error[0].value.startswith("There is no account named 'nobody' in this vault.")
    assert "vault_session" not in at.session_state
    # the passphrase field was emptied after each attempt: it does not linger in the page's state
    assert at.session_state["unlock_pass"] == ""


@pytest.mark.slow
def test_repeated_failures_are_throttled_with_a_kind_message(ui_users) -> None:
    at = open_app()
    for _ in range(8):
        _unlock(at, "tanya", "wrong wrong wrong")
        if at.warning:
            break
    assert_no_exception(at)
    assert at.warning, texts(at)
    assert re.match(r"Too many wrong passphrases for this account\. Wait \d+ seconds before trying again",
                    at.warning[0].value), at.warning[0].value


@pytest.mark.slow
def test_unlock_then_lock_now_clears_everything_and_locks_the_session(ui_users, ui_clip) -> None:
    from tests.fixtures_ui import add_testimony, make_segments

    editor = ui_users["edna"]
    add_testimony(editor, "CASE-1", ui_clip, make_segments(2, seg_s=1.5))
    at = open_app()
    _unlock(at, "tanya", PASSPHRASE)
    assert_no_exception(at)
    sess = at.session_state["vault_session"]
    assert sess.user == "tanya"
    at.session_state["review_mode"] = "List"
    at.switch_page("page_review.py").run()
    at.button(key=f"play_{sess.load('CASE-1').segments[0].id}").click().run()
    assert_no_exception(at)
    assert "decrypted_cache" in at.session_state  # the decrypted recording, for playback
    at.button(key="lock_now").click().run()
    assert_no_exception(at)
    assert "Unlock Testimony Workstation" in texts(at)
    assert "Everything decrypted was cleared" in texts(at)
    left = [k for k in at.session_state if not str(k).startswith(("FormSubmitter", "$$"))]
    assert set(left) <= {"lock_notice", "unlock_user", "unlock_pass", "unlock_btn"}, left
    with pytest.raises(VaultLockedError, match="This session is locked"):
        sess.load("CASE-1")  # the session itself was locked: its keys are gone


@pytest.mark.slow
def test_idle_window_locks_itself(ui_users) -> None:
    at = open_app(ui_users["tanya"])
    assert "Testimonies" in [t.value for t in at.title]
    at.session_state["last_activity"] = time.monotonic() - 16 * 60  # default idle lock: 15 minutes
    at.run()
    assert_no_exception(at)
    assert "vault_session" not in at.session_state
    assert "without activity" in texts(at)
