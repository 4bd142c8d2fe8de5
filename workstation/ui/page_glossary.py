"""Glossary: fixed English renderings of Russian terms, names never translated, sensitive terms.

Machine translation honours ``terms`` and ``keep``; redaction suggests every ``sensitive`` entry. The
glossary is stored encrypted in the vault and shared by everyone who works on the vault.
"""

from __future__ import annotations

import streamlit as st

from workstation.domain.glossary import Glossary
from workstation.ui import state


def _lines(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def render() -> None:
    with state.page("Glossary", "Loading the glossary") as sess:
        g = sess.load_glossary()
        rows = [{"Russian": ru, "English": en} for ru, en in sorted(g.terms.items())]
        with st.form("glossary"):
            st.subheader("Terms")
            st.caption("Each Russian term is always translated with this English rendering.")
            edited = st.data_editor(rows or [{"Russian": "", "English": ""}], num_rows="dynamic", width="stretch", key="gl_terms")
            c1, c2 = st.columns(2)
            keep = c1.text_area("Keep as written (one per line)", "\n".join(g.keep), help="Names and words never translated.")
            sensitive = c2.text_area("Sensitive (one per line)", "\n".join(g.sensitive), help="Always suggested for redaction in exports.")
            saved = st.form_submit_button("Save the glossary", type="primary", key="gl_save")
    if not saved:
        return
    terms: dict[str, str] = {}
    problems = []
    for row in edited:
        ru, en = (row.get("Russian") or "").strip(), (row.get("English") or "").strip()
        if ru and en:
            terms[ru] = en
        elif ru or en:
            problems.append(ru or en)
    if problems:
        st.error("Every term needs both a Russian and an English side: " + ", ".join(problems) + ". Nothing was saved.")
        return
    with state.shown_errors("Saving the glossary"):
        sess.save_glossary(Glossary(terms=terms, keep=_lines(keep), sensitive=_lines(sensitive)))
        state.flash("success", f"Glossary saved: {len(terms)} term(s). It applies to translations made from now on.")
        st.rerun()


if __name__ == "__main__":
    render()
