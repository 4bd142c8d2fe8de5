"""Streamlit shell: pages only, logic lives in the workstation package."""
