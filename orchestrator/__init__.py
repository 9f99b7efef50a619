"""orchestrate: plan, check and apply Cloudflare D1 migrations across a Workers monorepo."""

__version__ = "0.1.0"
