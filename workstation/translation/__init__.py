"""Translation stage: argostranslate (razdel splitting, glossary) and the Argos package installer."""
