"""Renderers of a Diagnosis: terminal text, Markdown, and the JSON schema of the JSON output."""
