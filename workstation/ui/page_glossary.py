"""Glossary: fixed English renderings of Russian terms, names never translated, sensitive terms.

Machine translation honours ``terms`` and ``keep``; redaction suggests every ``sensitive`` entry. The
glossary is stored encrypted in the vault and shared by everyone who works on the vault.
"""

from __future__ import annotations

import streamlit as st

from workstation.services import review
from workstation.ui import state


def render() -> None:
    with state.page("Glossary", "Loading the glossary") as sess:
        g = sess.load_glossary()
        rows = [{"Russian": ru, "English": en} for ru, en in sorted(g.terms.items())]
        with st.form("glossary"):
            st.subheader("Terms")
            st.caption("Each Russian term is always translated with this English rendering.")
            text = {name: st.column_config.TextColumn(name, default="", required=False) for name in ("Russian", "English")}
            edited = st.data_editor(rows or [{"Russian": "", "English": ""}], num_rows="dynamic", width="stretch",
                                    key="gl_terms", column_config=text,
                                    placeholder="")  # an empty cell is empty, not "None"
            c1, c2 = st.columns(2)
            keep = c1.text_area("Keep as written (one per line)", "\n".join(g.keep), help="Names and words never translated.")
            sensitive = c2.text_area("Sensitive (one per line)", "\n".join(g.sensitive), help="Always suggested for redaction in exports.")
            saved = st.form_submit_button("Save the glossary", type="primary", key="gl_save")
    if not saved:
        return
    terms = {(row.get("Russian") or ""): (row.get("English") or "") for row in edited}
    with state.shown_errors("Saving the glossary"):
        g = review.save_glossary(sess, terms, keep.splitlines(), sensitive.splitlines())
        state.flash("success", f"Glossary saved: {len(g.terms)} term(s). It applies to translations made from now on.")
        st.rerun()


if __name__ == "__main__":
    render()
