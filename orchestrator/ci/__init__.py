"""CI integrations: the pull-request comment and the job's step summary."""
