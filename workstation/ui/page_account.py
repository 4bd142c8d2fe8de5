"""My account: change my passphrase."""

from __future__ import annotations

import streamlit as st

from workstation.ui import state


def render() -> None:
    sess = state.require_session()
    st.title("My account")
    state.show_flashes()
    st.markdown(f"Signed in as **{sess.user}** ({sess.role}).")
    with st.form("passphrase", clear_on_submit=True):
        old = st.text_input("Current passphrase", type="password")
        new = st.text_input("New passphrase", type="password")
        again = st.text_input("Repeat the new passphrase", type="password")
        changed = st.form_submit_button("Change passphrase", type="primary", key="pass_btn")
    if not changed:
        return
    if new != again:
        st.error("The new passphrases differ. Nothing was changed.")
        return
    with state.shown_errors("Changing the passphrase"), st.spinner("Deriving the new key…"):
        sess.change_passphrase(old, new)
        state.flash("success", "Passphrase changed. Use the new one from now on.")
        st.rerun()


if __name__ == "__main__":
    render()
