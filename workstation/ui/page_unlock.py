"""The unlock screen, and on first launch the creation of the vault with its first editor account."""

from __future__ import annotations

import streamlit as st

from workstation.platform.errors import WorkstationError
from workstation.services import jobs
from workstation.ui import nav, state
from workstation.vault import session as vault
from workstation.vault.session import VaultSession
from workstation.vault.throttle import ThrottledError


def _after_unlock(vault_session: VaultSession) -> None:
    """Remember the session, then pick up processing interrupted by an app restart."""
    state.set_session(vault_session)
    vault_session = state.require_session()  # the serialised wrapper the page and the worker share
    try:
        statuses = {t.case_code: str(t.status) for t in vault_session.list_testimonies()}
        found = jobs.queue_for(state.vault_path()).recover(
            vault_session, statuses, may_process=nav.may_process(vault_session.role)
        )
    except WorkstationError:
        found = []  # recovery is a convenience; the queue page reports what it finds later
    if found:
        st.session_state["recovered_jobs"] = [j.case_code for j in found]


def _try_create() -> None:
    """Form callback (runs before the page is drawn): the passphrase fields are emptied whatever happens."""
    name = st.session_state.get("create_user", "").strip()
    passphrase, again = st.session_state.get("create_pass", ""), st.session_state.get("create_again", "")
    st.session_state["create_pass"] = st.session_state["create_again"] = ""
    if not name or not passphrase:
        state.flash("error", "Enter a user name and a passphrase.")
    elif passphrase != again:
        state.flash("error", "The two passphrases differ. Nothing was created; type them again.")
    else:
        created = state.run_action(vault.create_vault, state.vault_path(), name, passphrase, what="Creating the vault")
        if created is not None:
            _after_unlock(created)


def _create_vault() -> None:
    path = state.vault_path()
    st.title("Welcome to Testimony Workstation")
    st.write(
        f"There is no vault at `{path}` yet. Create it now: you become its first **editor** and can then add "
        "interviewers and translators. Everything in the vault is encrypted with keys that only your "
        "passphrases open — if every passphrase is forgotten, nothing can be recovered."
    )
    state.show_flashes()
    with st.form("create_vault"):
        st.text_input("Your user name", max_chars=64, key="create_user")
        st.text_input("Passphrase", type="password", key="create_pass",
                      help="At least 12 characters; four or more random words are best.")
        st.text_input("Repeat the passphrase", type="password", key="create_again")
        st.form_submit_button("Create the vault", type="primary", on_click=_try_create, key="create_btn")


def _try_unlock() -> None:
    """Form callback: try the passphrase, then empty its field so it never lingers in the page's state."""
    user = st.session_state.get("unlock_user", "").strip()
    passphrase = st.session_state.get("unlock_pass", "")
    st.session_state["unlock_pass"] = ""
    if not user or not passphrase:
        state.flash("error", "Enter your user name and your passphrase.")
        return
    try:
        vault_session = vault.unlock(state.vault_path(), user, passphrase)
    except WorkstationError as exc:  # wrong passphrase, unknown user, throttled: each says what to do
        state.flash("warning" if isinstance(exc, ThrottledError) else "error", str(exc))
        return
    _after_unlock(vault_session)


def _unlock() -> None:
    st.title("Unlock Testimony Workstation")
    state.show_flashes()
    with st.form("unlock"):
        st.text_input("User name", max_chars=64, key="unlock_user")
        st.text_input("Passphrase", type="password", key="unlock_pass")
        st.form_submit_button("Unlock", type="primary", on_click=_try_unlock, key="unlock_btn")


def render() -> None:
    notice = st.session_state.pop(state.NOTICE_KEY, "")
    if notice:
        st.info(notice, icon=":material/lock:")
    with state.shown_errors("Opening the vault"):
        if vault.vault_exists(state.vault_path()):
            _unlock()
        else:
            _create_vault()


if __name__ == "__main__":
    render()
