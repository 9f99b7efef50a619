"""The planner, on plain data: no files, no I/O."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.model import Binding, Database, LedgerRow, Migration, Status, Workspace
from orchestrator.planning import build_plan, plan_database
from orchestrator.planning.graph import order_migrations


def mig(
    source: str, number: int, sql: str = "SELECT 1;", desc: str | None = None, digits: int = 4
) -> Migration:
    description = desc or f"m{number}"
    name = f"{number:0{digits}d}_{description}.sql"
    return Migration(
        number=number,
        description=description,
        file=f"{source}/{name}",
        source=source,
        package=source.rsplit("/", 1)[0],
        checksum="sha256:" + hashlib.sha256(sql.encode()).hexdigest(),
        sql=sql,
    )


def database(
    *migrations: Migration, name: str = "db", depends_on: tuple[str, ...] = ()
) -> Database:
    sources = sorted({m.source for m in migrations})
    bindings = tuple(
        Binding(
            s.split("/")[0],
            "DB",
            f"{s.split('/')[0]}/wrangler.toml",
            name,
            name,
            "",
            s,
            "d1_migrations",
        )
        for s in sources
    )
    return Database(name, name, name, bindings, tuple(migrations), depends_on)


def names(db: Database, rows: list[LedgerRow] | None = None) -> list[str]:
    return [s.migration.file for s in plan_database(db, rows).steps]


# Each row: migrations given (in any order) -> expected apply order.
ORDER_TABLE = [
    # number, not string, order within one directory: 009 before 0010
    (
        [mig("a/migrations", 10, digits=4), mig("a/migrations", 9, digits=3)],
        ["a/migrations/009_m9.sql", "a/migrations/0010_m10.sql"],
    ),
    # two sources, no references: ties by number then package
    (
        [mig("b/migrations", 1), mig("a/migrations", 2), mig("a/migrations", 1)],
        ["a/migrations/0001_m1.sql", "b/migrations/0001_m1.sql", "a/migrations/0002_m2.sql"],
    ),
    # an inferred edge: b's 0001 references a table a's 0005 creates
    (
        [
            mig("a/migrations", 5, "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY);"),
            mig("b/migrations", 1, "CREATE TABLE posts (user_id INTEGER REFERENCES users(id));"),
        ],
        ["a/migrations/0005_m5.sql", "b/migrations/0001_m1.sql"],
    ),
    # names in comments and strings do not create edges
    (
        [
            mig("a/migrations", 5, "CREATE TABLE users (id INTEGER);"),
            mig(
                "b/migrations",
                1,
                "-- REFERENCES users\nINSERT INTO t VALUES ('INSERT INTO users');",
            ),
        ],
        ["b/migrations/0001_m1.sql", "a/migrations/0005_m5.sql"],
    ),
]


def test_order_table() -> None:
    for given_migrations, expected in ORDER_TABLE:
        assert names(database(*given_migrations)) == expected


def test_inferred_edges_are_reported() -> None:
    db = database(
        mig("a/migrations", 5, "CREATE TABLE users (id INTEGER PRIMARY KEY);"),
        mig("b/migrations", 1, "CREATE INDEX IF NOT EXISTS idx ON users(id);"),
    )
    plan = plan_database(db, None)
    assert plan.inferred_edges == (("0005_m5", "0001_m1"),)
    assert plan.steps[1].after == ("0005_m5",)


def test_cycle_is_an_error_naming_the_migrations() -> None:
    db = database(
        mig("a/migrations", 1, "CREATE TABLE x (id INTEGER);"),
        mig("a/migrations", 2, "CREATE TABLE z (y INTEGER REFERENCES y(id));"),
        mig("b/migrations", 1, "CREATE TABLE y (x INTEGER REFERENCES z(id));"),
    )
    problems = plan_database(db, None).problems
    (cycle,) = [p for p in problems if p.code == "plan.cycle"]
    assert cycle.is_error
    assert (
        "a/migrations/0002_m2.sql" in cycle.message and "b/migrations/0001_m1.sql" in cycle.message
    )


def test_every_cycle_is_named_not_only_the_first() -> None:
    """Before: only the cycle the graph search met first was reported."""
    db = database(
        mig("a/migrations", 1, "CREATE TABLE x (id INTEGER);"),
        mig("a/migrations", 2, "CREATE TABLE z (y INTEGER REFERENCES y(id));"),
        mig("b/migrations", 1, "CREATE TABLE y (x INTEGER REFERENCES z(id));"),
        mig("a/migrations", 3, "CREATE TABLE p (q INTEGER REFERENCES q(id));"),
        mig("b/migrations", 2, "CREATE TABLE q (p INTEGER REFERENCES p(id));"),
    )
    cycles = [p for p in plan_database(db, None).problems if p.code == "plan.cycle"]
    assert len(cycles) == 2 and all(c.is_error for c in cycles)
    first, second = (c.message for c in cycles)
    assert "a/migrations/0002_m2.sql" in first and "b/migrations/0001_m1.sql" in first
    assert "a/migrations/0003_m3.sql" in second and "b/migrations/0002_m2.sql" in second


def test_same_canonical_name_from_two_sources_is_an_error() -> None:
    db = database(
        mig("a/migrations", 1, desc="init"), mig("b/migrations", 1, desc="init", digits=3)
    )
    codes = {p.code: p for p in plan_database(db, None).problems}
    assert codes["plan.duplicate-name"].is_error


def test_gap_is_a_warning() -> None:
    db = database(mig("a/migrations", 1), mig("a/migrations", 2), mig("a/migrations", 5))
    (gap,) = plan_database(db, None).problems
    assert (gap.code, gap.message) == ("naming.gap", "gap in the sequence: 0003-0004 missing")


def test_statuses_from_ledger_rows() -> None:
    one, two, three = (
        mig("a/migrations", 1),
        mig("a/migrations", 2, "SELECT 2;"),
        mig("a/migrations", 3),
    )
    rows = [
        LedgerRow("001_m1.sql", checksum=None),  # wrangler's row: 3 digits, no checksum
        LedgerRow("0002_m2.sql", checksum="sha256:other"),
    ]
    plan = plan_database(database(one, two, three), rows, read=True)
    assert [s.status for s in plan.steps] == [Status.APPLIED, Status.CHANGED, Status.PENDING]
    assert [p.code for p in plan.problems] == ["ledger.changed"]
    assert plan.problems[0].file == "a/migrations/0002_m2.sql"


def test_out_of_order_pending_is_reported() -> None:
    db = database(mig("a/migrations", 1), mig("a/migrations", 2), mig("a/migrations", 3))
    plan = plan_database(db, [LedgerRow("0001_m1.sql"), LedgerRow("0003_m3.sql")])
    assert [s.out_of_order for s in plan.steps] == [False, True, False]
    assert [p.code for p in plan.problems] == ["plan.out-of-order"]


def test_database_graph_orders_by_depends_on() -> None:
    ws = Workspace(
        ".",
        None,
        (
            database(mig("a/migrations", 1), name="a-db", depends_on=("z-db",)),
            database(mig("z/migrations", 1), name="z-db"),
            database(mig("m/migrations", 1), name="m-db", depends_on=("nope",)),
        ),
        (),
    )
    plan = build_plan(ws)
    assert [d.database.name for d in plan.databases] == ["m-db", "z-db", "a-db"]
    assert plan.database_edges == (("z-db", "a-db"),)
    assert [p.code for p in plan.problems] == ["config.depends-on"]


# Hypothesis: random two-source databases with random references.
TABLES = ["users", "posts", "tags", "likes"]


@st.composite
def databases(draw: st.DrawFn) -> Database:
    migrations = []
    for source in ("a/migrations", "b/migrations"):
        numbers = draw(st.sets(st.integers(1, 40), max_size=6))
        for number in sorted(numbers):
            made = draw(st.sampled_from(TABLES))
            used = draw(st.sampled_from(TABLES))
            sql = f"CREATE TABLE IF NOT EXISTS {made}_{source[0]}{number} (x REFERENCES {used}_x);"
            if draw(st.booleans()):
                sql = f"CREATE TABLE IF NOT EXISTS {made} (id INTEGER);"
            elif draw(st.booleans()):
                sql = f"INSERT OR IGNORE INTO {used} (id) VALUES (1);"
            migrations.append(mig(source, number, sql, digits=draw(st.sampled_from([3, 4]))))
    return database(*migrations)


@settings(max_examples=150, deadline=None)
@given(databases())
def test_order_respects_every_edge(db: Database) -> None:
    ordered = order_migrations(db.migrations)
    if ordered.cycle:
        return
    position = {m.file: i for i, m in enumerate(ordered.order)}
    for a, b in ordered.inferred:
        assert position[a.file] < position[b.file]
    for source in db.sources:
        numbers = [m.number for m in ordered.order if m.source == source]
        assert numbers == sorted(numbers)


@settings(max_examples=100, deadline=None)
@given(databases(), st.randoms())
def test_planning_is_deterministic(db: Database, rnd: object) -> None:
    shuffled = list(db.migrations)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    again = Database(db.key, db.name, db.id, db.bindings, tuple(shuffled))
    assert names(db) == names(again)


@settings(max_examples=100, deadline=None)
@given(databases())
def test_mixing_three_and_four_digit_names_never_changes_the_order(db: Database) -> None:
    four = tuple(mig(m.source, m.number, m.sql, digits=4) for m in db.migrations)
    three = tuple(mig(m.source, m.number, m.sql, digits=3) for m in db.migrations)
    canon = lambda d: [s.migration.name for s in plan_database(d, None).steps]  # noqa: E731
    assert canon(Database("k", "n", "i", db.bindings, four)) == canon(
        Database("k", "n", "i", db.bindings, three)
    )


@settings(max_examples=60, deadline=None)
@given(databases())
def test_replanning_after_apply_is_empty(db: Database) -> None:
    plan = plan_database(db, None)
    rows = [LedgerRow(s.migration.filename, s.migration.checksum) for s in plan.steps]
    assert plan_database(db, rows, read=True).pending == ()
