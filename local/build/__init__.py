"""Dependencies built as `sam build` builds them, cached under .local/build/."""
