"""Who is in a fleet: the API's list of databases (paginated, name filter), or an
ids file; locally, each member is the state file ``wrangler dev`` would use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from orchestrator.engines.d1http import D1Http
from orchestrator.engines.localstate import STATE_DIR, durable_object_hex
from orchestrator.errors import ConfigError, TargetError
from orchestrator.fleets.model import Member
from orchestrator.settings import FleetSettings, read_config_text

PER_PAGE = 10_000  # the API's maximum


@dataclass(frozen=True)
class Listing:
    """The fleet's members and what listing them cost."""

    members: tuple[Member, ...]
    requests: int
    missing: tuple[str, ...] = ()


def list_databases(http: D1Http, name: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every database of the account (``name``: the API's search filter), page by page."""
    found: list[dict[str, Any]] = []
    page, requests = 1, 0
    while True:
        query = f"?page={page}&per_page={PER_PAGE}" + (f"&name={quote(name)}" if name else "")
        path = f"/accounts/{http.credentials.account_id}/d1/database{query}"
        result = http.get(path, f"list D1 databases (page {page})")
        requests += 1
        rows = [r for r in result if isinstance(r, dict)] if isinstance(result, list) else []
        found += rows
        if len(rows) < PER_PAGE:
            return found, requests
        page += 1


def remote_members(fleet: FleetSettings, root: Path, http: D1Http) -> Listing:
    """Members by name prefix (the list, filtered) or by the ids file (matched by id or name)."""
    rows, requests = list_databases(http, fleet.name_prefix)
    listed = [
        Member(str(r["uuid"]), str(r.get("name") or r["uuid"])) for r in rows if r.get("uuid")
    ]
    if fleet.name_prefix is not None:
        # The API's filter searches; a prefix means "starts with".
        chosen = [m for m in listed if m.name.startswith(fleet.name_prefix)]
        return Listing(tuple(chosen), requests)
    wanted = read_ids_file(root, fleet)
    by_key = {m.id: m for m in listed} | {m.name: m for m in listed}
    members = tuple(dict.fromkeys(by_key[w] for w in wanted if w in by_key))
    return Listing(members, requests, tuple(w for w in wanted if w not in by_key))


def read_ids_file(root: Path, fleet: FleetSettings) -> tuple[str, ...]:
    """One id or name a line; blank lines and ``#`` comments are skipped.

    Read as configs are (``settings.read_config_text``): a FIFO never blocks, a device
    is never read, a file past the cap or not UTF-8 is one line naming it (exit 2).
    """
    assert fleet.ids_file is not None
    try:
        text = read_config_text(root / fleet.ids_file)
    except ConfigError as exc:
        message = exc.message.replace("a config must", "an ids file must").replace(
            "than a config", "than an ids file"
        )
        raise ConfigError(
            f"fleets.{fleet.name}.ids_file: {message}", file=fleet.ids_file, line=exc.line
        ) from None
    ids: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if any(c.isspace() for c in value):
            raise ConfigError(
                f"one database id or name a line, got {value!r}", file=fleet.ids_file, line=number
            )
        ids.append(value)
    return tuple(dict.fromkeys(ids))


def local_members(fleet: FleetSettings, root: Path, persist_to: Path | None) -> tuple[Member, ...]:
    """Locally every member named in ``ids_file`` is a local D1 state file."""
    if fleet.ids_file is None:
        raise ConfigError(
            f"fleets.{fleet.name} lists members by name_prefix, which needs the API",
            hint="pass --remote, or set ids_file for local development",
        )
    base = local_state_dir(fleet, root, persist_to)
    return tuple(
        Member(str(base / f"{durable_object_hex(name)}.sqlite"), name)
        for name in read_ids_file(root, fleet)
    )


def local_state_dir(fleet: FleetSettings, root: Path, persist_to: Path | None) -> Path:
    """``<package>/.wrangler/state/v3/d1/...`` (the package holds the migrations), or --persist-to."""
    if persist_to is not None:
        return persist_to / STATE_DIR
    package = (root / fleet.migrations).parent
    return package / ".wrangler" / "state" / STATE_DIR


Lister = Callable[[], Listing]


def require_members(listing: Listing, fleet: str) -> None:
    """A fleet with no member is almost always a typo in name_prefix or ids_file."""
    if not listing.members:
        raise TargetError(f"fleet {fleet} has no members", hint="check name_prefix / ids_file")
