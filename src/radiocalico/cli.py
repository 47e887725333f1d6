"""The `radiocalico` command: serve, station, db upgrade, db check-counts, db backup, db restore,
dj add/list/remove/passwd/recordings; user grant-operator, user revoke-operator."""

from __future__ import annotations

import logging
from dataclasses import replace

import click

from radiocalico.config import Config


@click.group()
def main() -> None:
    """RadioCalico: a lossless internet radio station."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", default=None, help="Interface to listen on [HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [PORT, 3000].")
@click.option("--no-station", is_flag=True, help="Do not run the embedded station.")
def serve(host: str | None, port: int | None, no_station: bool) -> None:
    """Run the development server, with the embedded station and an up-to-date database."""
    from radiocalico.app import create_app
    from radiocalico.db import upgrade
    from radiocalico.services import services

    config = Config.from_env()
    config = replace(config, host=host or config.host, port=port or config.port)
    app = create_app(config)
    upgrade(services(app).store.engine)
    station = None
    if config.station_mode == "embedded" and not no_station:
        from radiocalico.station import Station, StationError

        try:
            station = Station.from_config(config)
            station.start()
        except StationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"RadioCalico on http://{config.host}:{config.port}/")
    try:
        # Never the Werkzeug debugger, whatever FLASK_DEBUG says: its console runs any
        # Python it is sent.
        app.run(host=config.host, port=config.port, threaded=True, use_reloader=False,
                debug=False, use_debugger=False)
    finally:
        if station is not None:
            station.stop()


@main.command()
@click.option("--library", type=click.Path(file_okay=False), default=None,
              help="Folder of audio files [STATION_LIBRARY; a generated demo library].")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder for hls/, metadatav2.json, cover.jpg [STATION_OUT].")
@click.option("--segment-seconds", type=float, default=None,
              help="HLS segment length [STATION_SEGMENT_SECONDS, 2].")
@click.option("--renditions", default=None,
              help="Comma list of lossless, high, saver [STATION_RENDITIONS, all three].")
@click.option("--loudness-target", default=None,
              help="LUFS every track is levelled to, or off [STATION_LOUDNESS_TARGET, -18].")
def station(library: str | None, out: str | None, segment_seconds: float | None, renditions: str | None,
            loudness_target: str | None) -> None:
    """Run the station alone (production: nginx serves its output folder)."""
    from radiocalico.station import Station, StationError

    try:
        config = Config.from_env()
        config = replace(
            config,
            station_library=library or config.station_library,
            station_out=out or config.station_out,
            station_segment_seconds=segment_seconds or config.station_segment_seconds,
            station_renditions=Config.from_env({"STATION_RENDITIONS": renditions}).station_renditions
            if renditions is not None else config.station_renditions,
            station_loudness_target=loudness_target or config.station_loudness_target,
        )
    except ValueError as exc:  # a setting out of range: one line, not a traceback
        raise click.ClickException(str(exc)) from None
    try:
        Station.from_config(config).run_forever()
    except StationError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def db() -> None:
    """Database schema and data."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations to DATABASE_URL."""
    from radiocalico.db import make_engine, upgrade

    config = Config.from_env()
    engine = make_engine(config.resolved_database_url)
    config.instance_path.mkdir(parents=True, exist_ok=True)
    upgrade(engine, revision)
    click.echo(f"database at revision {revision}: {engine.url.render_as_string()}")


@db.command("check-counts")
@click.option("--repair", is_flag=True, help="Set any differing counts to the aggregate.")
def db_check_counts(repair: bool) -> None:
    """Compare each song's kept up/down counts with a full count of its votes.

    Exits 1 when a difference is found and not repaired."""
    from sqlalchemy.exc import SQLAlchemyError

    from radiocalico.db import Store, counts

    store = Store(Config.from_env().resolved_database_url)
    try:
        if repair:
            with store.writing() as connection:
                drifts = counts.repair(connection)
        else:
            with store.reading() as connection:
                drifts = counts.differences(connection)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise click.ClickException(
            f"cannot check the counts ({reason}); is DATABASE_URL at the newest revision "
            "(radiocalico db upgrade)?"
        ) from None
    finally:
        store.dispose()
    for drift in drifts:
        click.echo(
            f"{drift.song_id}: kept up {drift.kept_up} down {drift.kept_down}, "
            f"votes say up {drift.up} down {drift.down}" + (" (repaired)" if repair else "")
        )
    if not drifts:
        click.echo("counts exact: every song's up/down equals its votes")
    elif repair:
        click.echo(f"{len(drifts)} song(s) repaired")
    else:
        raise click.ClickException(
            f"{len(drifts)} song(s) differ from their votes; run with --repair to fix"
        )


@main.group()
def user() -> None:
    """Accounts: who may use the operator console."""


def _set_role(email: str, role: str) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from radiocalico.db import Store
    from radiocalico.db import users as user_queries

    store = Store(Config.from_env().resolved_database_url)
    try:
        with store.writing() as connection:
            found = user_queries.set_role(connection, email, role)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise click.ClickException(
            f"cannot change the account ({reason}); is DATABASE_URL at the newest revision "
            "(radiocalico db upgrade)?"
        ) from None
    finally:
        store.dispose()
    if not found:
        raise click.ClickException(f"no account has the e-mail address {email}")
    click.echo(f"{email.strip().lower()} is now {'an operator' if role == 'operator' else 'a listener'}")


@user.command("grant-operator")
@click.argument("email")
def user_grant_operator(email: str) -> None:
    """Let the account with EMAIL use the operator console (/api/console)."""
    _set_role(email, "operator")


@user.command("revoke-operator")
@click.argument("email")
def user_revoke_operator(email: str) -> None:
    """Make the account with EMAIL a listener again."""
    _set_role(email, "listener")


def _pg_command(url: str) -> tuple[list[str], dict[str, str], str | None]:
    """libpq arguments, environment and search_path schema for a PostgreSQL DATABASE_URL.

    The password goes to the child in PGPASSWORD, never on its command line. When the URL
    pins a schema (`?options=-csearch_path=NAME`), backup and restore cover that schema only.
    """
    import os
    import re

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise click.ClickException("db backup and db restore need a PostgreSQL DATABASE_URL")
    args = ["--dbname", parsed.database or "postgres"]
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    options = parsed.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    match = re.search(r"search_path\s*=\s*([A-Za-z_][A-Za-z0-9_]*)", options)
    return args, env, match.group(1) if match else None


def _run_pg(argv: list[str], env: dict[str, str]) -> None:
    import shutil
    import subprocess

    if shutil.which(argv[0]) is None:
        raise click.ClickException(f"{argv[0]} is not installed (Debian: postgresql-client)")
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"{argv[0]} failed: {result.stderr.strip()}")


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def db_backup(file: str) -> None:
    """Dump the PostgreSQL database to FILE (pg_dump custom format)."""
    config = Config.from_env()
    args, env, schema = _pg_command(config.resolved_database_url)
    argv = ["pg_dump", "--format=custom", "--no-owner", "--file", file, *args]
    if schema:
        argv += ["--schema", schema]
    _run_pg(argv, env)
    click.echo(f"backup written to {file}")


@db.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def db_restore(file: str) -> None:
    """Restore FILE (from `db backup`) into the PostgreSQL database, replacing its tables."""
    config = Config.from_env()
    args, env, schema = _pg_command(config.resolved_database_url)
    argv = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args]
    if schema:
        argv += ["--schema", schema]
    _run_pg(argv + [file], env)
    click.echo(f"restored {file}")


@main.group()
def dj() -> None:
    """DJs who may go live (the station's live input, STATION_LIVE_PORT), and their recorded sets."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its import-time chatter is not output


def _dj_store():
    from radiocalico.db.djs import DjStore

    return DjStore(Config.from_env().resolved_database_url)


def _dj_password() -> str:
    """From a prompt (asked twice) on a terminal; else the first line of standard input."""
    import sys

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    return password


def _dj_command(work):
    """Run `work(store)`, turning a bad name or an unreachable or old database into one line."""
    from sqlalchemy.exc import SQLAlchemyError

    store = _dj_store()
    try:
        return work(store)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise click.ClickException(
            f"cannot reach the DJs ({reason}); is DATABASE_URL at the newest revision (radiocalico db upgrade)?"
        ) from None
    finally:
        store.dispose()


@dj.command("add")
@click.argument("name")
def dj_add(name: str) -> None:
    """Add DJ NAME (their DJ software's user name); the password comes from a prompt or stdin."""
    from radiocalico.db.djs import DjExists, normalize_name

    try:
        normalize_name(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    password = _dj_password()

    def add(store):
        try:
            return store.add(name, password)
        except DjExists:
            raise click.ClickException(f"there is already a DJ named {name.lower()}") from None

    added = _dj_command(add)
    click.echo(f"DJ {added.name} added: they stream to the mount /live with user name {added.name}")


@dj.command("list")
def dj_list() -> None:
    """List the DJs."""
    djs = _dj_command(lambda store: store.list())
    for entry in djs:
        click.echo(f"{entry.name}\tadded {entry.created_at:%Y-%m-%d %H:%M}")
    if not djs:
        click.echo("no DJs yet: radiocalico dj add NAME")


@dj.command("remove")
@click.argument("name")
def dj_remove(name: str) -> None:
    """Remove DJ NAME (their recordings stay)."""
    if not _dj_command(lambda store: store.remove(name)):
        raise click.ClickException(f"no DJ named {name.lower()}")
    click.echo(f"DJ {name.lower()} removed")


@dj.command("passwd")
@click.argument("name")
def dj_passwd(name: str) -> None:
    """Set DJ NAME's password (from a prompt or stdin)."""
    password = _dj_password()
    if not _dj_command(lambda store: store.set_password(name, password)):
        raise click.ClickException(f"no DJ named {name.lower()}")
    click.echo(f"password of DJ {name.lower()} changed")


@dj.command("recordings")
@click.option("--delete", "delete", metavar="FILE", multiple=True,
              help="Delete this recording (its file name as listed); may be repeated.")
def dj_recordings(delete: tuple[str, ...]) -> None:
    """List the recorded live sets (<start>-<dj>.flac under INSTANCE_PATH/recordings), or delete some."""
    from radiocalico.station.live import list_recordings

    config = Config.from_env()
    recordings = {path.name: path for path in list_recordings(config.instance_path)}
    for name in delete:
        if name not in recordings:
            raise click.ClickException(f"no recording named {name}")
        recordings.pop(name).unlink()
        click.echo(f"deleted {name}")
    if delete:
        return
    for name, path in recordings.items():
        click.echo(f"{name}\t{path.stat().st_size / 1e6:.1f} MB\t{path}")
    if not recordings:
        click.echo("no recorded sets")
