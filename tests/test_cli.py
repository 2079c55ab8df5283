"""The safe-release command: exit codes, human and JSON output, on both backends."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

import safe_release as sr
from safe_release.cli import HINT, main
from safe_release.cli._app import cli

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.conftest import Backend

V1 = {"min_margin": 0.15, "floor_prices": {"amazon_us": 9.99, "ebay_us": 9.49}}
V2 = {"min_margin": 0.15, "floor_prices": {"amazon_us": 10.49, "ebay_us": 9.49}}
V3 = {"min_margin": 0.12, "floor_prices": {"amazon_us": 10.49, "ebay_us": 9.49}}


def _global_args(backend: Backend) -> list[str]:
    args = ["--url", backend.url]
    return [*args, "--schema", backend.schema] if backend.schema else args


@pytest.fixture(name="run")
def fixture_run(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Invoke the CLI against the backend under test; unexpected errors propagate."""
    monkeypatch.delenv("SAFE_RELEASE_URL", raising=False)
    monkeypatch.delenv("SAFE_RELEASE_SCHEMA", raising=False)
    monkeypatch.setenv("SAFE_RELEASE_AUTHOR", "ci-bot")
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Result:
        argv = [*_global_args(backend), *args]
        return runner.invoke(cli, argv, input=stdin, catch_exceptions=False)

    return run


@pytest.fixture(name="files")
def fixture_files(tmp_path: Path) -> dict[str, Path]:
    """v1 as JSON, v2 as YAML, v3 as .yml, plus broken files."""
    out = {
        "v1": tmp_path / "v1.json",
        "v2": tmp_path / "v2.yaml",
        "v3": tmp_path / "v3.yml",
        "bad_json": tmp_path / "bad.json",
        "bad_yaml": tmp_path / "bad.yaml",
    }
    out["v1"].write_text(json.dumps(V1), encoding="utf-8")
    out["v2"].write_text(
        "min_margin: 0.15\nfloor_prices:\n  amazon_us: 10.49\n  ebay_us: 9.49\n", encoding="utf-8"
    )
    out["v3"].write_text(json.dumps(V3), encoding="utf-8")
    out["bad_json"].write_text('{"min_margin": 0.15,', encoding="utf-8")
    out["bad_yaml"].write_text("floor_prices: [1, 2\n", encoding="utf-8")
    return out


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


def _json(result: Result) -> object:
    return json.loads(_ok(result).stdout)


def _publish_three(run: Callable[..., Result], files: dict[str, Path]) -> None:
    for key in ("v1", "v2", "v3"):
        _ok(run("config", "publish", "pricing", str(files[key]), "-m", f"publish {key}"))


class TestPublish:
    def test_json_and_yaml_files_publish_their_content(self, run, files):
        """A .json and a .yaml file each become the next version, content intact."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        _ok(run("config", "publish", "pricing", str(files["v2"])))
        assert _json(run("config", "show", "pricing", "--version", "1", "--json"))["content"] == V1
        assert _json(run("config", "show", "pricing", "--json"))["content"] == V2

    def test_stdin_accepts_yaml_and_json(self, run):
        """FILE '-' reads the content from stdin, as YAML or JSON."""
        _ok(run("config", "publish", "pricing", "-", stdin="min_margin: 0.2\n"))
        _ok(run("config", "publish", "pricing", "-", stdin='{"min_margin": 0.3}'))
        assert _json(run("config", "show", "pricing", "--json"))["content"] == {"min_margin": 0.3}

    def test_human_output_names_the_version(self, run, files):
        """Without --json, publish says which version it wrote."""
        result = _ok(run("config", "publish", "pricing", str(files["v1"])))
        assert result.stdout.startswith("published pricing v1 (hash ")

    def test_json_output_is_the_new_version(self, run, files):
        """--json prints the new ConfigVersion with author and message."""
        data = _json(
            run("config", "publish", "pricing", str(files["v1"]), "-m", "first", "--json")
        )
        assert (data["version"], data["author"], data["message"]) == (1, "ci-bot", "first")
        assert data["content"] == V1

    def test_author_option_beats_environment(self, run, files):
        """--author overrides $SAFE_RELEASE_AUTHOR."""
        data = _json(
            run("config", "publish", "pricing", str(files["v1"]), "--author", "alice", "--json")
        )
        assert data["author"] == "alice"

    def test_author_defaults_to_the_os_user(self, run, files, monkeypatch):
        """Without --author or the variable, the OS user name is recorded."""
        monkeypatch.delenv("SAFE_RELEASE_AUTHOR")
        monkeypatch.setattr("getpass.getuser", lambda: "os-user")
        data = _json(run("config", "publish", "pricing", str(files["v1"]), "--json"))
        assert data["author"] == "os-user"

    def test_expected_version_conflict_exits_1(self, run, files):
        """A stale --expected-version is refused with exit 1 and no traceback."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        result = run("config", "publish", "pricing", str(files["v2"]), "--expected-version", "0")
        assert result.exit_code == 1
        assert result.stderr.startswith("error: config 'pricing' is at v1, not v0")
        assert "Traceback" not in result.output
        assert _json(run("config", "show", "pricing", "--json"))["version"] == 1

    def test_expected_version_match_publishes(self, run, files):
        """A matching --expected-version publishes."""
        _ok(run("config", "publish", "pricing", str(files["v1"]), "--expected-version", "0"))
        data = _json(
            run(
                "config",
                "publish",
                "pricing",
                str(files["v2"]),
                "--expected-version",
                "1",
                "--json",
            )
        )
        assert data["version"] == 2

    @pytest.mark.parametrize(
        ("key", "expected"),
        [("bad_json", "bad.json is not valid JSON"), ("bad_yaml", "bad.yaml is not valid YAML")],
    )
    def test_invalid_file_exits_1_naming_the_file(self, run, files, key, expected):
        """Broken JSON or YAML gives exit 1, a message naming the file, nothing stored."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        result = run("config", "publish", "pricing", str(files[key]))
        assert result.exit_code == 1
        assert expected in result.stderr
        assert "(line " in result.stderr
        assert _json(run("config", "show", "pricing", "--json"))["version"] == 1

    def test_missing_file_exits_1(self, run, tmp_path):
        """A file that does not exist gives exit 1 and says it cannot be read."""
        result = run("config", "publish", "pricing", str(tmp_path / "nope.json"))
        assert result.exit_code == 1
        assert "cannot read" in result.stderr
        assert "nope.json" in result.stderr

    def test_unknown_extension_exits_1(self, run, tmp_path):
        """A file that is neither .json nor .yaml/.yml is refused with advice."""
        path = tmp_path / "rules.txt"
        path.write_text("{}", encoding="utf-8")
        result = run("config", "publish", "pricing", str(path))
        assert result.exit_code == 1
        assert "*.json, *.yaml or *.yml" in result.stderr

    def test_empty_stdin_exits_1(self, run):
        """An empty document is refused rather than stored as null."""
        result = run("config", "publish", "pricing", "-", stdin="  \n")
        assert result.exit_code == 1
        assert "<stdin> is empty" in result.stderr

    def test_an_unquoted_date_exits_2(self, run, tmp_path):
        """An unquoted YAML date (a timestamp in YAML 1.1, text in 1.2) is refused: exit 2."""
        path = tmp_path / "dated.yaml"
        path.write_text("starts: 2024-11-11\n", encoding="utf-8")
        result = run("config", "publish", "pricing", str(path))
        assert result.exit_code == 2
        assert result.stderr.startswith("error: ")
        assert "'2024-11-11'" in result.stderr
        assert "a date/time in YAML 1.1" in result.stderr

    def test_content_the_store_refuses_exits_1(self, run, tmp_path):
        """A file within the CLI's limits whose content is over the store's 1 MiB: exit 1."""
        path = tmp_path / "big.json"
        path.write_text(json.dumps({"blob": "x" * (1024 * 1024)}), encoding="utf-8")
        result = run("config", "publish", "pricing", str(path))
        assert result.exit_code == 1
        assert "over the limit of 1,048,576 bytes" in result.stderr

    def test_invalid_config_name_exits_1(self, run, files):
        """A bad config name is a SafeReleaseError: exit 1, not a traceback."""
        result = run("config", "publish", "bad name!", str(files["v1"]))
        assert result.exit_code == 1
        assert "is not a valid config name" in result.stderr


class TestShow:
    def test_human_output_has_metadata_then_pretty_content(self, run, files):
        """show prints metadata lines, then the content as indented JSON."""
        _ok(run("config", "publish", "pricing", str(files["v1"]), "-m", "first"))
        out = _ok(run("config", "show", "pricing")).stdout
        meta, content = out.split("\n\n", 1)
        assert "version: v1" in meta
        assert "author:  ci-bot" in meta
        assert "message: first" in meta
        assert json.loads(content) == V1
        assert '\n  "floor_prices"' in content

    def test_missing_config_exits_1(self, run, files):
        """Showing a config that has no versions is exit 1 with the SDK's message."""
        _ok(run("config", "publish", "other", str(files["v1"])))
        result = run("config", "show", "pricing")
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ")

    def test_missing_version_exits_1(self, run, files):
        """--version of a version that does not exist is exit 1."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        result = run("config", "show", "pricing", "--version", "9")
        assert result.exit_code == 1


class TestHistory:
    def test_table_marks_head_good_and_rollback(self, run, files):
        """history marks the head, the good version and what a rollback restored."""
        _publish_three(run, files)
        _ok(run("config", "mark-good", "pricing", "--version", "2"))
        _ok(run("config", "rollback", "pricing"))
        lines = _ok(run("config", "history", "pricing")).stdout.splitlines()
        assert lines[0].split() == ["VERSION", "CREATED", "AUTHOR", "HASH", "MESSAGE", "MARKERS"]
        assert lines[1].startswith("v4 ")
        assert lines[1].endswith("head, rollback of v3 (restores v2)")
        assert lines[3].startswith("v2 ")
        assert lines[3].endswith("good")

    def test_columns_are_aligned(self, run, files):
        """Every row's hash column starts at the same offset."""
        _publish_three(run, files)
        lines = _ok(run("config", "history", "pricing")).stdout.splitlines()
        column = lines[0].index("HASH")
        hashes = [line[column : column + 12] for line in lines[1:]]
        assert all(len(h) == 12 and h.isalnum() for h in hashes)

    def test_json_lists_versions_newest_first(self, run, files):
        """--json gives the pointers and every version, newest first."""
        _publish_three(run, files)
        data = _json(run("config", "history", "pricing", "--json"))
        assert [v["version"] for v in data["versions"]] == [3, 2, 1]
        assert (data["head"], data["last_good"], data["rollout"]) == (3, None, None)

    def test_limit(self, run, files):
        """--limit caps the number of versions."""
        _publish_three(run, files)
        data = _json(run("config", "history", "pricing", "--limit", "2", "--json"))
        assert [v["version"] for v in data["versions"]] == [3, 2]


class TestDiff:
    def test_one_line_per_change(self, run, files):
        """diff prints a header and one line per changed key."""
        _publish_three(run, files)
        out = _ok(run("config", "diff", "pricing", "1", "3")).stdout.splitlines()
        assert out == [
            "pricing: v1 -> v3",
            "  ~ floor_prices.amazon_us: 9.99 -> 10.49",
            "  ~ min_margin: 0.15 -> 0.12",
        ]

    def test_json(self, run, files):
        """--json gives the ConfigDiff with typed changes."""
        _publish_three(run, files)
        data = _json(run("config", "diff", "pricing", "2", "3", "--json"))
        assert (data["a"], data["b"]) == (2, 3)
        assert data["changes"] == [
            {"path": ["min_margin"], "kind": "changed", "old": 0.15, "new": 0.12}
        ]

    def test_non_numeric_version_is_a_usage_error(self, run):
        """A version that is not a number is a usage error: exit 2."""
        assert run("config", "diff", "pricing", "one", "2").exit_code == 2


class TestRollback:
    def test_rollback_publishes_a_new_version(self, run, files):
        """rollback rolls forward: a new head whose content equals the target."""
        _publish_three(run, files)
        data = _json(run("config", "rollback", "pricing", "--json"))
        assert (data["version"], data["restores"], data["rolled_back_from"]) == (4, 2, 3)
        assert data["content"] == V2
        assert data["author"] == "ci-bot"
        assert _json(run("config", "show", "pricing", "--json"))["version"] == 4

    def test_to_author_and_message(self, run, files):
        """--to picks the target; --author and --message are recorded."""
        _publish_three(run, files)
        result = _ok(
            run(
                "config",
                "rollback",
                "pricing",
                "--to",
                "1",
                "--author",
                "oncall",
                "-m",
                "pricing incident",
            )
        )
        assert result.stdout.strip() == "rolled back pricing: v4 restores v1 (rolled back from v3)"
        data = _json(run("config", "show", "pricing", "--json"))
        assert (data["content"], data["author"], data["message"]) == (
            V1,
            "oncall",
            "pricing incident",
        )

    def test_rollback_to_the_head_exits_1(self, run, files):
        """Rolling back to the head itself is refused: exit 1, nothing written."""
        _publish_three(run, files)
        result = run("config", "rollback", "pricing", "--to", "3")
        assert result.exit_code == 1
        assert "already the head" in result.stderr
        assert _json(run("config", "show", "pricing", "--json"))["version"] == 3

    def test_rollback_during_rollout_only_aborts_it(self, run, files):
        """With a rollout in progress, a bare rollback aborts it and keeps the head."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        _ok(run("config", "publish", "pricing", str(files["v2"]), "--rollout", "10"))
        result = _ok(run("config", "rollback", "pricing"))
        assert result.stdout.startswith("aborted the staged rollout; pricing v1")
        assert _json(run("config", "history", "pricing", "--json"))["rollout"] is None


class TestList:
    def test_empty_store(self, run):
        """An upgraded store with no configs says so."""
        _ok(run("db", "upgrade"))
        assert "no configs yet" in _ok(run("config", "list")).stdout
        assert _json(run("config", "list", "--json")) == []

    def test_lists_each_config_with_its_head(self, run, files):
        """list shows every config's head and any rollout, sorted by name."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        _ok(run("config", "publish", "pricing", str(files["v2"]), "--rollout", "25"))
        _ok(run("config", "publish", "inventory", str(files["v3"])))
        lines = _ok(run("config", "list")).stdout.splitlines()
        assert [line.split()[:2] for line in lines[1:]] == [["inventory", "v1"], ["pricing", "v1"]]
        assert lines[2].endswith("v2 to 25%")
        data = _json(run("config", "list", "--json"))
        assert [(c["name"], c["version"]) for c in data] == [("inventory", 1), ("pricing", 1)]
        assert data[1]["rollout"] == {"stable": 1, "candidate": 2, "percent": 25.0}
        assert "content" not in data[0]


class TestRollout:
    def test_publish_with_rollout_stages_a_candidate(self, run, files):
        """--rollout keeps the head and serves the new version to a share of keys."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        out = _ok(run("config", "publish", "pricing", str(files["v2"]), "--rollout", "10")).stdout
        assert "staged rollout to 10% of keys" in out
        history = _json(run("config", "history", "pricing", "--json"))
        assert (history["head"], history["rollout"]["candidate"]) == (1, 2)
        table = _ok(run("config", "history", "pricing")).stdout
        assert "candidate 10%" in table

    def test_promote_widens_then_finishes(self, run, files):
        """promote --percent widens; promote alone makes the candidate the head."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        _ok(run("config", "publish", "pricing", str(files["v2"]), "--rollout", "10"))
        out = _ok(run("config", "promote", "pricing", "--percent", "50")).stdout
        assert "to 50% of keys" in out
        assert _json(run("config", "history", "pricing", "--json"))["rollout"]["percent"] == 50
        assert _json(run("config", "promote", "pricing", "--json"))["version"] == 2
        history = _json(run("config", "history", "pricing", "--json"))
        assert (history["head"], history["rollout"]) == (2, None)

    def test_abort_keeps_the_stable_head(self, run, files):
        """abort stops the rollout and reports the stable head."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        _ok(run("config", "publish", "pricing", str(files["v2"]), "--rollout", "10"))
        assert _json(run("config", "abort", "pricing", "--json"))["version"] == 1
        assert _json(run("config", "history", "pricing", "--json"))["rollout"] is None

    def test_abort_without_rollout_exits_1(self, run, files):
        """abort with no rollout in progress is a RolloutError: exit 1."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        result = run("config", "abort", "pricing")
        assert result.exit_code == 1
        assert "no staged rollout to abort" in result.stderr

    @pytest.mark.parametrize(
        ("value", "says"),
        [
            ("150", "150.0 is not in the range 0<x<=100"),
            ("0", "0.0 is not in the range 0<x<=100"),
            ("-5", "not in the range"),
            ("nan", "is not a number"),
            ("0.001", "below the 0.01 % resolution"),
            ("ten", "is not a valid percent"),
        ],
    )
    def test_out_of_range_percent_is_a_usage_error(self, run, files, value, says):
        """A rollout percentage outside (0, 100] is a usage error (exit 2): nothing is stored."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        result = run("config", "publish", "pricing", str(files["v2"]), "--rollout", value)
        assert result.exit_code == 2
        assert "Invalid value for '--rollout'" in result.stderr
        assert says in result.stderr
        assert "Rollout(" not in result.output
        assert _json(run("config", "history", "pricing", "--json"))["versions"][0]["version"] == 1

    def test_promote_percent_out_of_range_is_a_usage_error(self, run, files):
        """promote --percent 150 is refused by the option (exit 2), the rollout unchanged."""
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        _ok(run("config", "publish", "pricing", str(files["v2"]), "--rollout", "10"))
        result = run("config", "promote", "pricing", "--percent", "150")
        assert result.exit_code == 2
        assert "Invalid value for '--percent'" in result.stderr
        assert _json(run("config", "history", "pricing", "--json"))["rollout"]["percent"] == 10


class TestMarkGoodAndPrune:
    def test_mark_good_defaults_to_the_head(self, run, files):
        """mark-good without --version marks the head."""
        _publish_three(run, files)
        assert _json(run("config", "mark-good", "pricing", "--json"))["version"] == 3
        assert _json(run("config", "history", "pricing", "--json"))["last_good"] == 3

    def test_prune_below_minimum_is_a_usage_error_and_deletes_nothing(self, run, files):
        """--keep under 3 is refused by the option (exit 2): every version kept."""
        _publish_three(run, files)
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        result = run("config", "prune", "pricing", "--keep", "2")
        assert result.exit_code == 2
        assert "Invalid value for '--keep': 2 is not in the range x>=3" in result.stderr
        assert len(_json(run("config", "history", "pricing", "--json"))["versions"]) == 4

    def test_prune_deletes_old_versions(self, run, files):
        """prune --keep 3 deletes what is beyond the newest three."""
        _publish_three(run, files)
        _ok(run("config", "publish", "pricing", str(files["v1"])))
        assert _json(run("config", "prune", "pricing", "--keep", "3", "--json")) == {
            "name": "pricing",
            "deleted": [1],
        }
        assert "nothing to prune" in _ok(run("config", "prune", "pricing", "--keep", "3")).stdout

    def test_prune_requires_keep(self, run):
        """--keep is required: a usage error, exit 2."""
        assert run("config", "prune", "pricing").exit_code == 2


class TestDb:
    def test_fresh_database_is_not_up_to_date(self, run):
        """db current on an empty database reports no revision; --check exits 1."""
        data = _json(run("db", "current", "--json"))
        assert data["current"] is None
        assert data["head"] == sr.Store.head_revision()
        assert data["up_to_date"] is False
        assert "not up to date" in _ok(run("db", "current")).stdout
        checked = run("db", "current", "--check")
        assert checked.exit_code == 1
        assert "safe-release db upgrade" in checked.stderr

    def test_upgrade_then_current(self, run):
        """db upgrade brings the tables to the head; db current then agrees."""
        out = _ok(run("db", "upgrade")).stdout
        assert f"to {sr.Store.head_revision()}" in out
        assert "already up to date" in _ok(run("db", "upgrade")).stdout
        data = _json(run("db", "current", "--check", "--json"))
        assert data["up_to_date"] is True
        assert _ok(run("db", "current")).stdout.strip().endswith("up to date")

    def test_upgrade_json(self, run):
        """db upgrade --json reports the revision before and after."""
        data = _json(run("db", "upgrade", "--json"))
        assert (data["before"], data["current"]) == (None, sr.Store.head_revision())

    def test_read_commands_never_create_tables(self, run):
        """A read on a fresh database exits 1 pointing at db upgrade, and creates nothing."""
        result = run("config", "list")
        assert result.exit_code == 1
        assert "safe-release db upgrade" in result.stderr
        assert _json(run("db", "current", "--json"))["current"] is None

    def test_broken_tables_exit_1(self, backend, run):
        """A database error while reading exits 1 with a message, no traceback."""
        _ok(run("db", "upgrade"))
        engine = create_engine(backend.url)
        drop = "DROP TABLE sr_config"
        if backend.schema:
            drop = f'DROP TABLE "{backend.schema}".sr_config CASCADE'
        with engine.begin() as conn:
            conn.execute(text(drop))
        engine.dispose()
        result = run("config", "list")
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.output

    def test_unwrapped_database_errors_exit_1_redacted(self, monkeypatch):
        """A raw SQLAlchemy error that escapes the SDK exits 1, its password masked."""

        def broken(self):
            raise OperationalError("SELECT 1", {}, RuntimeError("auth for hunter2 failed"))

        monkeypatch.setattr(sr.Store, "configs", broken)
        monkeypatch.setattr(
            sr, "connect", lambda *_, **__: sr.Store(create_engine("sqlite://"), owns_engine=True)
        )
        url = "postgresql+psycopg://ops:hunter2@db.internal/erp"
        result = CliRunner().invoke(cli, ["--url", url, "config", "list"])
        assert result.exit_code == 1
        assert result.stderr.startswith("error: a database operation failed (RuntimeError); ")
        assert "the driver said: auth for *** failed" in result.stderr
        assert "hunter2" not in result.output


def _sessions(engine: Engine, application: str) -> int:
    """Server sessions opened under ``application``, once closing ones have gone."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app")
    deadline = time.monotonic() + 5
    while True:
        with engine.connect() as conn:
            count = int(conn.execute(query, {"app": application}).scalar_one())
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


class TestConnections:
    @pytest.mark.postgres
    def test_commands_leave_no_connection_open(self, pg_url, pg_engine, files):
        """After each command exits, none of its connections is left on the server."""
        app = f"sr-cli-{uuid.uuid4().hex[:8]}"
        schema = f"t_{uuid.uuid4().hex[:12]}"
        url = make_url(pg_url).update_query_dict({"application_name": app})
        base = ["--url", url.render_as_string(hide_password=False), "--schema", schema]
        commands = [
            ["db", "current"],
            ["db", "upgrade"],
            ["config", "publish", "pricing", str(files["v1"])],
            ["config", "show", "pricing"],
            ["config", "history", "pricing", "--json"],
            ["config", "list"],
            ["config", "show", "missing"],
        ]
        try:
            for argv in commands:
                CliRunner().invoke(cli, [*base, *argv], catch_exceptions=False)
                assert _sessions(pg_engine, app) == 0, argv
        finally:
            with pg_engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


class TestSecrets:
    @pytest.mark.postgres
    def test_password_is_masked_in_db_current(self, pg_url):
        """The URL shown by db current hides the password (trust auth accepts any)."""
        secret = make_url(pg_url).set(password="hunter2-secret")  # noqa: S106 - a fake
        url = secret.render_as_string(hide_password=False)
        for argv in (["db", "current"], ["db", "current", "--json"]):
            result = CliRunner().invoke(cli, ["--url", url, *argv])
            assert result.exit_code == 0, result.output
            assert "hunter2-secret" not in result.output
            assert ":***@" in result.stdout

    def test_password_is_not_in_connection_errors(self):
        """A failing connection names the masked URL, never the password."""
        url = "postgresql+psycopg://ops:hunter2-secret@127.0.0.1:1/erp"
        result = CliRunner().invoke(cli, ["--url", url, "config", "publish", "p", "-"], input="{}")
        assert result.exit_code == 1
        assert "hunter2-secret" not in result.output
        assert "***" in result.stderr

    def test_url_from_environment(self, backend, monkeypatch, files):
        """--url may come from $SAFE_RELEASE_URL (and --schema from its variable)."""
        monkeypatch.setenv("SAFE_RELEASE_URL", backend.url)
        if backend.schema:
            monkeypatch.setenv("SAFE_RELEASE_SCHEMA", backend.schema)
        runner = CliRunner()
        _ok(runner.invoke(cli, ["config", "publish", "pricing", str(files["v1"])]))
        assert _json(runner.invoke(cli, ["config", "show", "pricing", "--json"]))["version"] == 1


class TestUsage:
    def test_version(self):
        """--version prints the package version."""
        result = _ok(CliRunner().invoke(cli, ["--version"]))
        assert sr.__version__ in result.stdout

    @pytest.mark.parametrize(
        "argv",
        [
            ["bogus"],
            ["config", "bogus"],
            ["config", "show"],
            ["config", "history", "p", "--limit", "0"],
        ],
    )
    def test_usage_errors_exit_2(self, argv):
        """Unknown commands, missing arguments and bad option values exit 2."""
        assert CliRunner().invoke(cli, argv).exit_code == 2

    def test_help_lists_the_groups(self):
        """--help lists config, db and demo."""
        out = _ok(CliRunner().invoke(cli, ["--help"])).stdout
        assert all(name in out for name in ("config", "db", "demo"))

    def test_missing_extra_prints_a_hint(self, monkeypatch, capsys):
        """Without click, main() prints the pip hint and exits 1, no traceback."""
        monkeypatch.setitem(sys.modules, "click", None)
        with pytest.raises(SystemExit) as info:
            main()
        assert info.value.code == 1
        err = capsys.readouterr().err
        assert err.strip() == HINT
        assert "pip install 'safe-release[cli]'" in err


class TestDemo:
    def test_demo_rolls_back_the_bad_release(self):
        """The demo syncs, trips the trigger, and restores rows, config and all prices."""
        out = _ok(CliRunner().invoke(cli, ["demo", "--skus", "60"])).stdout
        for fake in ("FakeAmazon", "FakeEbay", "FakeWalmart"):
            assert f"{fake}: http://127.0.0.1:" in out
        assert "the error-rate trigger tripped: " in out
        assert "ERP prices table equals the checkpoint: True" in out
        for market in ("Amazon", "eBay", "Walmart"):
            assert f"{market} prices equal the ones before the release: True" in out
        assert "pricing config: v3, discount 0.04" in out
        assert "change failure rate:" in out
        assert "the bad release was rolled_back and verified" in out

    def test_db_keeps_the_store(self, tmp_path):
        """--db keeps the demo's SQLite file: its releases and incidents serve the CLI."""
        path = tmp_path / "demo.db"
        _ok(CliRunner().invoke(cli, ["demo", "--db", str(path), "--skus", "40"]))
        url = f"sqlite:///{path}"
        data = _json(CliRunner().invoke(cli, ["--url", url, "releases", "list", "--json"]))
        assert [r["status"] for r in data] == ["rolled_back", "succeeded"]
        assert data[0]["verification"] == "verified"
        stats = _json(CliRunner().invoke(cli, ["--url", url, "report", "--json"]))
        assert (stats["releases"], stats["failed"]) == (2, 1)
        assert stats["change_failure_rate"] == 0.5
        assert stats["ttr_median"] is not None
        history = _json(
            CliRunner().invoke(cli, ["--url", url, "config", "history", "pricing", "--json"])
        )
        assert history["head"] == 3

    def test_db_refuses_an_existing_file(self, tmp_path):
        """--db never writes into an existing file: exit 1."""
        path = tmp_path / "taken.db"
        path.write_bytes(b"")
        result = CliRunner().invoke(cli, ["demo", "--db", str(path)])
        assert result.exit_code == 1
        assert "already exists" in result.stderr

    def test_console_script_runs_the_demo(self):
        """The installed safe-release script runs the demo end to end, exit 0."""
        script = Path(sys.executable).with_name("safe-release")
        done = subprocess.run(
            [str(script), "demo"], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "demo finished" in done.stdout
        assert done.stderr == ""
