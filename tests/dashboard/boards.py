"""Small dashboards written as data for the page tests: one database per state, and
names, paths and messages that carry markup, quotes and long unbroken words."""

from __future__ import annotations

from orchestrator.checks.findings import Finding
from orchestrator.dashboard import (
    Dashboard,
    DatabaseStatus,
    DriftRecord,
    LintCounts,
    Origin,
    Urgency,
)
from orchestrator.model import Problem, Severity

NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
HOSTILE = "<script>document.body.dataset.pwned='yes'</script>\"q'&amp;"


def row(name: str, urgency: Urgency, **changes: object) -> DatabaseStatus:
    values: dict[str, object] = {
        "name": name,
        "id": f"id-{name}",
        "bindings": (f"packages/{name} DB",),
        "applied": 3,
        "pending": 0,
        "next_pending": (),
        "changed": (),
        "last_applied": "0003_third",
        "last_applied_at": "2027-01-15 05:00:00",  # 3 h before NOW
        "lint": LintCounts(),
        "lock": None,
        "bookmark": None,
        "drift": None,
        "problems": (),
        "urgency": urgency,
        "attention": None,
    }
    values.update(changes)
    return DatabaseStatus(**values)  # type: ignore[arg-type]


def data_loss_row(name: str = "billing-db") -> DatabaseStatus:
    finding = Finding(
        "D002",
        Severity.ERROR,
        "recreating parents deletes the rows of children (ON DELETE CASCADE) on D1",
        f"packages/{name}/migrations/0004_recreate.sql",
        12,
        name,
    )
    return row(
        name,
        Urgency.LINT_ERRORS,
        pending=2,
        next_pending=(
            f"packages/{name}/migrations/0004_recreate.sql",
            f"packages/{name}/migrations/0005_more.sql",
        ),
        lint=LintCounts(1, 0, (finding,)),
        attention="1 lint error(s) in pending migrations, first D002 at "
        f"packages/{name}/migrations/0004_recreate.sql:12",
    )


def sample_board(first_name: str = "billing-db") -> Dashboard:
    """Most urgent first, as ``build_dashboard`` sorts them."""
    rows = (
        data_loss_row(first_name),
        row(
            "inventory-db",
            Urgency.DRIFT,
            drift=2,
            drift_detail=DriftRecord(
                2,
                (
                    "local: column items.note: TEXT is in the target, but no applied migration creates it",
                ),
                "2027-01-15T07:30:00Z",
            ),
            attention="schema drift: 2 difference(s)",
        ),
        row(
            "orders-db",
            Urgency.PENDING,
            pending=4,
            next_pending=("packages/orders-db/migrations/0004_x.sql",),
            problems=(
                Problem(
                    Severity.WARNING,
                    "naming.short-prefix",
                    "3 files use fewer than 4 digits",
                    "packages/orders-db/migrations",
                ),
            ),
        ),
        row(
            "users-db-with-a-rather-long-name-" + "x" * 60,
            Urgency.FINE,
            bookmark="00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683",
        ),
    )
    return Dashboard(
        "remote",
        "production",
        rows,
        (Problem(Severity.INFO, "config.env-only", "binds D1 only in env staging", "w.toml"),),
        f"4 databases · 12 applied · 6 pending — first: {first_name}: {rows[0].attention}",
        f"{first_name}: {rows[0].attention}",
        Origin(
            NOW,
            "acc-1234",
            "0123456789abcdef0123",
            False,
            "https://github.com/acme/shop",
            "",
            "0.1.0",
        ),
    )
