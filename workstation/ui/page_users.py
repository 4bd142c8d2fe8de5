"""Editor: user accounts — who may unlock the vault, with which role."""

from __future__ import annotations

import streamlit as st

from workstation.ui import state

ROLES = ["interviewer", "translator", "editor"]


def _remove(name: str) -> None:
    sess = state.require_session()
    state.run_action(sess.remove_user, name, success=f"{name} removed; the vault key was rotated so the old passphrase "
                     "opens nothing, and every testimony they could read has a new key.",
                     what="Removing the user")
    st.session_state.pop("confirm_remove", None)


def render() -> None:
    with state.page("Users", "Listing users") as sess:
        users = sess.list_users()
        for u in users:
            name, role = (u.name, u.role) if hasattr(u, "name") else (u[0], u[1]) if isinstance(u, tuple) else (str(u), "")
            c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="center")
            c1.markdown(f"**{name}**" + (" (you)" if name == sess.user else ""))
            c2.caption(str(role))
            if name != sess.user:
                if st.session_state.get("confirm_remove") == name:
                    c3.button(f"Really remove {name}", key=f"rm2_{name}", type="primary", on_click=_remove, args=(name,))
                else:
                    c3.button("Remove", key=f"rm_{name}", on_click=lambda n=name: st.session_state.update(confirm_remove=n))
    st.subheader("Add a user")
    with st.form("add_user", clear_on_submit=True):
        c1, c2 = st.columns(2)
        name = c1.text_input("User name", max_chars=64)
        role = c2.selectbox("Role", ROLES)
        passphrase = c1.text_input("Their passphrase", type="password", help="Give it to them in person; they can change it under “My account”.")
        again = c2.text_input("Repeat the passphrase", type="password")
        added = st.form_submit_button("Add user", type="primary", key="add_user_btn")
    if added:
        if not name.strip() or not passphrase:
            st.error("Enter a user name and a passphrase.")
        elif passphrase != again:
            st.error("The two passphrases differ. Nobody was added.")
        else:
            with state.shown_errors("Adding the user"), st.spinner("Creating the key slot…"):
                sess.add_user(name.strip(), role, passphrase)
                state.flash("success", f"{name.strip()} can now unlock the vault as {role}.")
                st.rerun()


if __name__ == "__main__":
    render()
