"""Reports: terminal tables, Markdown and self-contained HTML built from stored results."""
