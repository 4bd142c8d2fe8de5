"""The unlock screen, and on first launch the creation of the vault with its first editor account."""

from __future__ import annotations

import streamlit as st

from workstation.errors import WorkstationError
from workstation.ui import nav, state

LAST_USER_KEY = "unlock_last_user"


def _after_unlock(vault_session: object) -> None:
    """Remember the session, then pick up processing interrupted by an app restart."""
    from workstation import jobs

    state.set_session(vault_session)
    vault_session = state.session()  # the serialised wrapper the page and the worker share
    try:
        statuses = {t.case_code: str(t.status) for t in vault_session.list_testimonies()}
        found = jobs.queue_for(state.vault_path()).recover(
            vault_session, statuses, may_process=nav.may_process(vault_session.role)
        )
    except WorkstationError:
        found = []  # recovery is a convenience; the queue page reports what it finds later
    if found:
        st.session_state["recovered_jobs"] = [j.case_code for j in found]


def _create_vault() -> None:
    from workstation.vault import session as vault

    path = state.vault_path()
    st.title("Welcome to Testimony Workstation")
    st.write(
        f"There is no vault at `{path}` yet. Create it now: you become its first **editor** and can then add "
        "interviewers and translators. Everything in the vault is encrypted with keys that only your "
        "passphrases open — if every passphrase is forgotten, nothing can be recovered."
    )
    with st.form("create_vault", clear_on_submit=True):
        name = st.text_input("Your user name", max_chars=64)
        passphrase = st.text_input("Passphrase", type="password", help="Long and memorable: several words are best.")
        again = st.text_input("Repeat the passphrase", type="password")
        submitted = st.form_submit_button("Create the vault", type="primary")
    if not submitted:
        return
    if not name.strip():
        st.error("Enter a user name.")
    elif passphrase != again:
        st.error("The two passphrases differ. Nothing was created; type them again.")
    else:
        with state.shown_errors("Creating the vault"), st.spinner("Creating the vault and deriving your key…"):
            _after_unlock(vault.create_vault(path, name.strip(), passphrase))
            st.rerun()


def _unlock() -> None:
    from workstation.vault import session as vault

    st.title("Unlock Testimony Workstation")
    with st.form("unlock", clear_on_submit=True):  # clear: the passphrase does not linger in widget state
        user = st.text_input("User name", value=st.session_state.get(LAST_USER_KEY, ""), max_chars=64)
        passphrase = st.text_input("Passphrase", type="password")
        submitted = st.form_submit_button("Unlock", type="primary")
    if not submitted:
        return
    st.session_state[LAST_USER_KEY] = user.strip()
    if not user.strip() or not passphrase:
        st.error("Enter your user name and your passphrase.")
        return
    try:
        with st.spinner("Checking your passphrase…"):
            vault_session = vault.unlock(state.vault_path(), user.strip(), passphrase)
    except WorkstationError as exc:
        seconds = getattr(exc, "seconds", None)
        if seconds:
            st.warning(f"{exc}", icon="⏳")
        else:
            st.error(str(exc), icon="⚠️")
        return
    _after_unlock(vault_session)
    st.rerun()


def render() -> None:
    from workstation.vault import session as vault

    notice = st.session_state.pop(state.NOTICE_KEY, "")
    if notice:
        st.info(notice, icon="🔒")
    with state.shown_errors("Opening the vault"):
        if vault.vault_exists(state.vault_path()):
            _unlock()
        else:
            _create_vault()


if __name__ == "__main__":
    render()
