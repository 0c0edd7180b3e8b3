"""`treadle`: run the API, workers and migrations; manage workflows, runs and tokens."""

from __future__ import annotations

import sys

import typer

from entrypoints.cli import api_command, dev_command, manage, test_command
from entrypoints.cli.common import fail, guarded, settings_or_exit
from entrypoints.cli.members import members_app, whoami
from entrypoints.cli.operations import choose

__all__ = ["app", "fail", "guarded", "settings_or_exit"]

app = typer.Typer(
    help="Treadle: a durable workflow engine on PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    url: str | None = typer.Option(
        None,
        "--url",
        envvar="TREADLE_URL",
        help="A Treadle server: workflows, run, run-many, executions, tokens, secrets,"
        " schedules and triggers then use its API instead of the database.",
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="TREADLE_TOKEN", help="The API token to use with --url."
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        envvar="TREADLE_PROFILE",
        help="A server named in ~/.config/treadle/config.toml ([profiles.NAME] url, token);"
        " --url and --token win over its values.",
    ),
) -> None:
    """Treadle: a durable workflow engine on PostgreSQL."""
    if profile:
        url, token = with_profile(profile, url, token)
    choose(url, token)


def with_profile(name: str, url: str | None, token: str | None) -> tuple[str, str | None]:
    """The URL and token of the profile `name`, unless given on the command line."""
    from entrypoints.cli.profiles import ProfileError, read_profile

    try:
        found = read_profile(name)
    except ProfileError as error:
        fail(str(error), 2)
    if found.loose_permissions:
        typer.secho(
            "warning: the config file holds tokens and other users can read it; chmod 600 it",
            err=True,
            fg=typer.colors.YELLOW,
        )
    return url or found.url, token or found.token


@app.command()
def migrate() -> None:
    """Upgrade the database schema to this version of Treadle."""
    from entrypoints.bootstrap import upgrade_schema

    settings = settings_or_exit()
    guarded(lambda: upgrade_schema(settings))
    typer.echo("database schema is current")


@app.command()
def worker(
    concurrency: int | None = typer.Option(None, help="Executions in flight at once."),
    queues: str | None = typer.Option(
        None,
        help="Claim only from these queues, comma-separated (default,ai); without, from every"
        " queue. Also TREADLE_QUEUES.",
    ),
) -> None:
    """Run a worker: claim executions from Postgres and run their nodes."""
    from domain.priority import parse_queues
    from entrypoints.worker.main import main as run_worker

    settings = settings_or_exit()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    if queues is not None:
        try:
            parse_queues(queues)
        except ValueError as error:
            fail(f"--queues: {error}")
        settings = settings.model_copy(update={"queues": queues})
    guarded(settings.require_database)
    run_worker(settings)


api_command.register(app)
dev_command.register(app)
manage.register(app)
app.add_typer(members_app, name="members")
app.command("whoami")(whoami)
test_command.register(app)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app(prog_name="treadle"))
