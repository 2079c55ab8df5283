"""What the CLI draws: rich at a terminal, plain text elsewhere, JSON unchanged; the demo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from safe_release.cli import _terminal
from safe_release.cli._app import cli
from safe_release.cli._output import echo, table

if TYPE_CHECKING:
    import safe_release as sr
    from tests.conftest import Backend

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "erp_migrations" / "alembic.ini"
STYLE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(name="terminal")
def fixture_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stdout counts as a terminal, 200 columns wide, colour allowed."""
    monkeypatch.setattr(_terminal, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("NO_COLOR", raising=False)


class TestPlainOrDrawn:
    def test_a_test_runner_is_not_a_terminal(self) -> None:
        """Under CliRunner (a pipe) the CLI prints plain text."""
        seen: list[bool] = []

        @cli.command("probe-terminal", hidden=True)
        def probe() -> None:
            seen.append(_terminal.is_terminal())

        try:
            _ok(CliRunner().invoke(cli, ["probe-terminal"]))
        finally:
            cli.commands.pop("probe-terminal")
        assert seen == [False]

    def test_plain_tables_have_no_styles(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Off a terminal a table is two-space aligned columns, no escape sequences."""
        echo(table(("A", "STATUS"), [("x", "failed"), ("yy", "succeeded")]))
        assert capsys.readouterr().out == "A   STATUS\nx   failed\nyy  succeeded\n"

    @pytest.mark.usefixtures("terminal")
    def test_terminal_tables_are_drawn_with_colour(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """At a terminal a table has a bold header and coloured statuses, same cells."""
        echo(table(("A", "STATUS"), [("x", "failed"), ("yy", "succeeded")]))
        out = capsys.readouterr().out
        assert "\x1b[1m" in out  # bold header
        assert "\x1b[1;31mfailed" in out  # red failure
        assert "\x1b[32msucceeded" in out  # green success
        lines = [line.split() for line in STYLE.sub("", out).splitlines() if line.strip()]
        assert ["x", "failed"] in lines
        assert ["yy", "succeeded"] in lines

    @pytest.mark.usefixtures("terminal")
    def test_no_color_is_honoured(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """NO_COLOR=1: still a drawn table, but no colours."""
        monkeypatch.setenv("NO_COLOR", "1")
        echo(table(("A",), [("failed",)]))
        assert "\x1b[1;31m" not in capsys.readouterr().out

    def test_errors_are_styled_only_at_a_terminal(self, tmp_path: Path) -> None:
        """error: lines carry no escape sequences when stderr is not a terminal."""
        result = CliRunner().invoke(
            cli, ["--url", f"sqlite:///{tmp_path}/no/s.db", "db", "current"]
        )
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ")
        assert "\x1b" not in result.stderr


class TestJsonEverywhere:
    def test_migrations_upgrade_json(self, tmp_path: Path) -> None:
        """migrations upgrade --json: one document with the target and the revisions run."""
        erp = f"sqlite:///{tmp_path / 'erp.db'}"
        runner = CliRunner()
        argv = ["migrations", "upgrade", "-c", str(EXAMPLE), "--db-url", erp, "0006", "--json"]
        data = json.loads(_ok(runner.invoke(cli, argv)))
        assert data["target"] == "0006"
        assert data["upgraded"][-1] == "0006"
        again = json.loads(_ok(runner.invoke(cli, argv)))
        assert again == {"target": "0006", "upgraded": []}

    def test_migrations_upgrade_text_is_unchanged(self, tmp_path: Path) -> None:
        """Without --json upgrade prints one line, as before."""
        erp = f"sqlite:///{tmp_path / 'erp.db'}"
        argv = ["migrations", "upgrade", "-c", str(EXAMPLE), "--db-url", erp, "0001"]
        assert _ok(CliRunner().invoke(cli, argv)).strip() == "upgraded through 0001"

    def test_every_command_but_demo_has_json(self) -> None:
        """Each leaf command except demo takes --json (docs/cli.md says so)."""
        missing = []

        def walk(group: object, path: str) -> None:
            for name, command in getattr(group, "commands", {}).items():
                if hasattr(command, "commands"):
                    walk(command, f"{path} {name}")
                elif name != "demo" and "as_json" not in {p.name for p in command.params}:
                    missing.append(f"{path} {name}".strip())

        walk(cli, "")
        assert missing == []

    @pytest.mark.usefixtures("terminal")
    def test_json_at_a_terminal_is_plain(self, backend: Backend, store: sr.Store) -> None:
        """At a terminal --json is still exactly one JSON document, no styles."""
        store.config("pricing").publish({"a": 1}, author="ci")
        args = ["--url", backend.url] + (["--schema", backend.schema] if backend.schema else [])
        for argv in (["releases", "list", "--json"], ["config", "list", "--json"]):
            out = _ok(CliRunner().invoke(cli, [*args, *argv]))
            assert "\x1b" not in out
            assert isinstance(json.loads(out), list)


class TestNumericOptions:
    @pytest.mark.parametrize(
        "argv",
        [
            ["releases", "list", "--limit", "0"],
            ["config", "history", "p", "--limit", "0"],
            ["config", "prune", "p", "--keep", "1"],
            ["config", "promote", "p", "--percent", "101"],
            ["config", "publish", "p", "-", "--rollout", "inf"],
            ["migrations", "check", "--rows", "0"],
            ["demo", "--skus", "5"],
        ],
    )
    def test_out_of_range_numbers_are_usage_errors(self, argv: list[str]) -> None:
        """Every numeric option refuses out-of-range values with exit 2 and the option named."""
        result = CliRunner().invoke(cli, argv, input="{}")
        assert result.exit_code == 2, result.output
        assert "Invalid value for" in result.stderr
        assert "Traceback" not in result.output


class TestDemoOutput:
    def test_says_what_tripped_and_what_was_restored_per_kind(self) -> None:
        """The demo splits the trigger's outcomes and the restore by kind, and lists each step."""
        out = _ok(CliRunner().invoke(cli, ["demo", "--skus", "40"]))
        tripped = re.search(r"the error-rate trigger tripped: (\d+) of the release's (\d+)", out)
        assert tripped is not None
        job = re.search(
            r"from the job: (\d+) SKUs priced, (\d+) pushed to every marketplace, (\d+) ref", out
        )
        calls = re.search(r"from the Amazon, eBay and Walmart adapters: (\d+) API calls", out)
        assert job is not None
        assert calls is not None
        priced, pushed, refused = map(int, job.groups())
        assert priced == pushed + refused
        assert int(tripped.group(2)) == priced + int(calls.group(1))
        assert int(tripped.group(1)) == refused
        assert re.search(rf"table erp_prices +{pushed} row\(s\) restored", out)
        assert re.search(r"config pricing +1 config version", out)
        for market in ("amazon", "ebay", "walmart"):
            assert re.search(rf"{market} prices +{pushed} write\(s\) compensated", out)
        assert "restored: 9" not in out
        steps = out.split("== each rollback step")[1]
        assert re.search(r"STEP +NAME +OK +DETAIL", steps)
        assert steps.count("compensation  amazon price of DEMO-") == pushed
        assert steps.count("compensation  ebay price of offer ") == pushed
        assert steps.count("compensation  walmart price of DEMO-") == pushed
        assert re.search(r"health walmart\|.* token valid until .*; scopes: ", steps)
        assert re.search(r"health ebay\|.* token valid until .*; scopes: ", steps)
        assert "  priced 10/40 SKUs" in out  # progress, a line a quarter off a terminal

    def test_names_the_key_file_it_creates(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With no key configured the demo says where it wrote the key file; never the key."""
        monkeypatch.delenv("SAFE_RELEASE_SIGNING_KEY", raising=False)
        monkeypatch.delenv("SAFE_RELEASE_KEY_FILE", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
        key = tmp_path / "safe_release" / "signing.key"
        out = _ok(CliRunner().invoke(cli, ["demo", "--skus", "40"]))
        assert key.is_file()
        assert f"signing key: {key}, created now, mode 0600" in out
        assert key.read_text().strip().splitlines()[0] not in out
        again = _ok(CliRunner().invoke(cli, ["demo", "--skus", "40"]))
        assert f"signing key: {key}, already there, reused" in again

    def test_names_a_configured_key_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """$SAFE_RELEASE_KEY_FILE is the path the demo names."""
        monkeypatch.delenv("SAFE_RELEASE_SIGNING_KEY", raising=False)
        key = tmp_path / "keys" / "demo.key"
        monkeypatch.setenv("SAFE_RELEASE_KEY_FILE", str(key))
        out = _ok(CliRunner().invoke(cli, ["demo", "--skus", "40"]))
        assert f"signing key: {key} (from $SAFE_RELEASE_KEY_FILE), created now" in out

    def test_a_key_from_the_environment_is_named_as_such(self) -> None:
        """A key in $SAFE_RELEASE_SIGNING_KEY: no file, and the key is not printed."""
        out = _ok(CliRunner().invoke(cli, ["demo", "--skus", "40"]))
        assert "signing key: from $SAFE_RELEASE_SIGNING_KEY (no file is written)" in out

    @pytest.mark.usefixtures("terminal")
    def test_at_a_terminal_it_draws_progress_and_tables(self) -> None:
        """At a terminal the SKUs get a progress bar and the summaries are rich tables."""
        out = _ok(CliRunner().invoke(cli, ["demo", "--skus", "40"]))
        plain = STYLE.sub("", out)
        assert "pricing SKUs" in plain
        assert "40/40" in plain
        assert "  priced 10/40 SKUs" not in plain
        assert "\x1b[32myes" in out
        assert "demo finished" in plain
