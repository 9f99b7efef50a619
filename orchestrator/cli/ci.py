"""``orchestrate ci comment``: the sticky pull-request comment and the job summary."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.guards import GuardedGroup
from orchestrator.cli.options import DB, TARGET, WORKSPACE, Scope, shared
from orchestrator.errors import UsageError

ci_app = typer.Typer(
    name="ci",
    cls=GuardedGroup,  # the same help habits and flag checks as the top level
    help="CI helpers: the pull-request comment (used by the GitHub Action, action.yml).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(ci_app)


@ci_app.command()
@boundary
@shared(DB, TARGET, WORKSPACE)
def comment(
    scope: Scope,
    post: Annotated[
        bool,
        typer.Option("--post/--no-post", help="Post or update the comment (else: summary only)."),
    ] = True,
    marker: Annotated[
        str,
        typer.Option("--marker", metavar="NAME", help="Tells this comment from others."),
    ] = "comment",
    pr: Annotated[
        int | None,
        typer.Option("--pr", metavar="N", help="The pull request (default: this run's event)."),
    ] = None,
) -> None:
    """Write the plan per database and the check findings (errors first) to the job's step
    summary, and on a pull request post them as one comment, updated in place on each run
    (found by a hidden marker). Needs GITHUB_TOKEN with pull-requests: write.

    Example: [bold]orchestrate ci comment --remote[/]
    """
    from orchestrator.ci.comment import append_step_summary, comment_body
    from orchestrator.ci.github import GitHub, pull_request_from_env
    from orchestrator.reporting.comment import marker as hidden_marker

    settings = scope.settings()
    body, _ = comment_body(settings, scope.env, scope.db, scope.target(settings), marker)
    if append_step_summary(body):
        typer.echo("wrote the step summary", err=True)
    target = pull_request_from_env(pr) if post else None
    if target is None:
        typer.echo("not a pull request: no comment posted" if post else body, err=post)
        return
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise UsageError("GITHUB_TOKEN is not set", hint="pass github-token to the action")
    github = GitHub(token)
    try:
        done, number = github.upsert_comment(target, hidden_marker(marker), body)
    finally:
        github.close()
    typer.echo(f"{done} comment {number} on {target.repository}#{target.number}", err=True)
