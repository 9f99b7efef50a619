"""Reporting: rich for people, JSON/Markdown/SARIF for machines (stdout)."""
