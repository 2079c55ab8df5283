"""L8: stored text cannot drive the terminal, and authors and messages have limits."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

import safe_release as sr
from safe_release._config._arguments import MAX_MESSAGE_LENGTH
from safe_release._store._tables import NAME_LENGTH
from safe_release.cli._app import cli
from safe_release.cli._output import CliError, emit_json, table, visible, visible_lines

if TYPE_CHECKING:
    from tests.conftest import Backend

Run = Callable[..., Result]

ESC_AUTHOR = "ops\x1b[2J\x1b[H"  # clear the screen, cursor home
FORGED_MESSAGE = "fix\r\x1b[1Aforged line\u202eevil\x08\x07"  # overwrite the previous line
# what a terminal would act on: none of these may reach it raw
ACTIVE = ("\x1b", "\r", "\x08", "\x07", "\x9b", "\x7f", "\u202e", "\u2066", "\u2028")


def _unsafe_characters(*, surrogates: bool = True) -> str:
    """Every control, format, separator (and surrogate) code point of this Python's Unicode."""
    categories = {"Cc", "Cf", "Zl", "Zp"} | ({"Cs"} if surrogates else set())
    return "".join(
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in categories and chr(code) not in "\u200c\u200d"
    )


def _assert_inert(text: str) -> None:
    for char in ACTIVE:
        assert char not in text, (char, text)


# what rich itself writes at a terminal: colours and styles (SGR), cursor show/hide
_RICH_SEQUENCES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\?25[hl]")


def _assert_inert_drawn(text: str) -> None:
    """Terminal output: only rich's own style sequences; stored text adds none."""
    _assert_inert(_RICH_SEQUENCES.sub("", text))


@pytest.fixture(name="terminal")
def fixture_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stdout counts as a terminal: the CLI draws with rich, in colour, 200 columns wide."""
    monkeypatch.setattr("safe_release.cli._terminal.is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(name="run")
def fixture_run(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke the CLI against the backend under test; unexpected errors propagate."""
    monkeypatch.delenv("SAFE_RELEASE_URL", raising=False)
    monkeypatch.delenv("SAFE_RELEASE_SCHEMA", raising=False)
    monkeypatch.setenv("SAFE_RELEASE_AUTHOR", "ci-bot")
    runner = CliRunner()
    where = ["--url", backend.url] + (["--schema", backend.schema] if backend.schema else [])

    def run(*args: str) -> Result:
        return runner.invoke(cli, [*where, *args], catch_exceptions=False)

    return run


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


class TestEscaping:
    def test_control_and_bidi_characters_are_shown_as_escapes(self):
        """ESC, CR, backspace, BEL, DEL, CSI, bidi and separators become visible escapes."""
        shown = visible("a\x1b[2Jb\rc\x08d\x07e\x7ff\x9bg\u202eh\u2066i\u2028j\ud800k\n")
        assert shown == (
            "a\\x1b[2Jb\\rc\\x08d\\x07e\\x7ff\\x9bg\\u202eh\\u2066i\\u2028j\\ud800k\\n"
        )

    def test_every_unsafe_code_point_is_escaped(self):
        """Each control, format, separator or surrogate code point leaves only printable ASCII."""
        unsafe = _unsafe_characters()
        shown = visible(unsafe)
        assert shown.isascii()
        assert shown.isprintable()
        assert visible("tag \U000e0041") == "tag \\U000e0041"  # invisible "tag" letters

    def test_ordinary_text_is_left_alone(self):
        """Letters of any script, emoji with joiners and backslashes are printed as they are."""
        persian = "\u0642\u06cc\u0645\u062a\u200c\u0647\u0627"  # prices, with a ZWNJ
        text = f"价格 ราคา {persian} 👩\u200d💻 C:\\erp\\x1b"
        assert visible(text) == text
        assert visible_lines("line 1\n\tline 2\r") == "line 1\n\tline 2\\r"

    def test_table_cells_are_escaped_and_aligned(self):
        """A cell holding an escape sequence cannot break the table's columns."""
        lines = table(("A", "B"), [("x\x1b[2K", "1"), ("yy", "2")]).splitlines()
        column = lines[0].index("B")
        assert lines[1] == "x\\x1b[2K  1"
        assert (lines[1][column], lines[2][column]) == ("1", "2")

    def test_json_output_is_exact_and_inert(self, capsys):
        """--json output decodes to exactly the data, yet carries no raw control character."""
        unsafe = _unsafe_characters(surrogates=False)  # stored text never holds lone ones
        data = {
            "author": ESC_AUTHOR,
            "message": FORGED_MESSAGE,
            "all": unsafe,
            "价格": "👩\u200d💻",
        }
        emit_json(data)
        out = capsys.readouterr().out
        assert json.loads(out) == data
        assert not set(out) & set(unsafe.replace("\n", ""))
        assert "价格" in out

    def test_error_messages_are_escaped(self, capsys):
        """An error quoting stored text prints it escaped on one line."""
        CliError("release 'x\x1b]0;owned\x07\rok' failed").show()
        assert capsys.readouterr().err == "error: release 'x\\x1b]0;owned\\x07\\rok' failed\n"


class TestConfigOutput:
    def test_author_and_message_are_escaped_in_every_table(self, store, run):
        """history, show and list print a hostile author and message as escapes."""
        store.config("pricing").publish({"a": 1}, author=ESC_AUTHOR, message=FORGED_MESSAGE)
        for args in (("history", "pricing"), ("show", "pricing"), ("list",)):
            out = _ok(run("config", *args))
            _assert_inert(out)
            assert "ops\\x1b[2J\\x1b[H" in out
        shown = _ok(run("config", "show", "pricing"))
        assert "fix\\r\\x1b[1Aforged line\\u202eevil\\x08\\x07" in shown

    def test_json_keeps_author_and_message_exact(self, store, run):
        """--json gives the author and message byte for byte, as JSON escapes."""
        store.config("pricing").publish({"a": 1}, author=ESC_AUTHOR, message=FORGED_MESSAGE)
        out = _ok(run("config", "show", "pricing", "--json"))
        _assert_inert(out)
        data = json.loads(out)
        assert (data["author"], data["message"]) == (ESC_AUTHOR, FORGED_MESSAGE)

    def test_content_and_diff_are_escaped(self, store, run):
        """Keys and values of the content are escaped in show and diff, exact in --json."""
        content = {"note\x1b[8m": "a\u202eb\x7f", "n": 1}
        cfg = store.config("pricing")
        cfg.publish(content, author="a")
        cfg.publish({**content, "n": 2}, author="a")
        show = _ok(run("config", "show", "pricing"))
        _assert_inert(show)
        assert json.loads(show.split("\n\n", 1)[1]) == {**content, "n": 2}
        _assert_inert(_ok(run("config", "diff", "pricing", "1", "2")))
        added = _ok(run("config", "diff", "pricing", "1", "2", "--json"))
        _assert_inert(added)

    def test_publish_and_rollback_lines_are_escaped(self, store, run, tmp_path):
        """The one-line answers of publish and rollback quote nothing raw."""
        path = tmp_path / "rules.json"
        path.write_text('{"x": 1}', encoding="utf-8")
        _assert_inert(_ok(run("config", "publish", "pricing", str(path), "-m", FORGED_MESSAGE)))
        path.write_text('{"x": 2}', encoding="utf-8")
        _ok(run("config", "publish", "pricing", str(path), "--author", ESC_AUTHOR))
        _assert_inert(_ok(run("config", "rollback", "pricing", "-m", FORGED_MESSAGE)))
        assert store.config("pricing").refresh().message == FORGED_MESSAGE


class TestReleaseOutput:
    def test_release_names_and_errors_are_escaped_in_the_list(self, store, run):
        """A release name and error text with escape sequences print escaped in the table."""
        name = "sync\x1b]0;owned\x07"
        with pytest.raises(RuntimeError), sr.release(name, store=store):
            raise RuntimeError("boom\r\x1b[2Kall good\u202e")
        out = _ok(run("releases", "list"))
        _assert_inert(out)
        assert "sync\\x1b]0;owned\\x07" in out
        records = json.loads(_ok(run("releases", "list", "--json")))
        assert records[0]["name"] == name


@pytest.mark.usefixtures("terminal")
class TestTerminalOutput:
    def test_rich_tables_escape_every_cell(self, store, run):
        """At a terminal, history and list draw hostile text as escapes, in rich tables."""
        store.config("pricing").publish({"a": 1}, author=ESC_AUTHOR, message=FORGED_MESSAGE)
        for args in (("history", "pricing"), ("list",), ("show", "pricing")):
            out = _ok(run("config", *args))
            assert ("\x1b[1m" in out) is (args[0] != "show")  # rich drew the tables
            _assert_inert_drawn(out)
            assert "ops\\x1b[2J\\x1b[H" in out

    def test_rich_markup_in_stored_text_is_shown_not_applied(self, store, run):
        """A message written as rich markup is printed literally, never styled."""
        store.config("pricing").publish({"a": 1}, author="[bold red]x[/]", message="[blink]m")
        out = _ok(run("config", "history", "pricing"))
        assert "[bold red]x[/]" in out
        assert "\x1b[5m" not in out  # no blink

    def test_release_tables_escape_names_and_errors(self, store, run):
        """releases list at a terminal: a hostile name and error are escapes."""
        with pytest.raises(RuntimeError), sr.release("sync\x1b]0;owned\x07", store=store):
            raise RuntimeError("boom\r\x1b[2Kall good\u202e")
        out = _ok(run("releases", "list"))
        _assert_inert_drawn(out)
        assert "sync\\x1b]0;owned\\x07" in out

    def test_json_is_the_same_at_a_terminal(self, store, run, monkeypatch):
        """--json prints exactly the same document at a terminal: no styles, no table."""
        store.config("pricing").publish({"a": 1}, author=ESC_AUTHOR, message=FORGED_MESSAGE)
        drawn = _ok(run("config", "history", "pricing", "--json"))
        monkeypatch.setattr("safe_release.cli._terminal.is_terminal", lambda: False)
        plain = _ok(run("config", "history", "pricing", "--json"))
        assert drawn == plain
        assert json.loads(drawn)["versions"][0]["author"] == ESC_AUTHOR


class TestErrorOutput:
    def test_store_errors_are_escaped(self, store, run, monkeypatch):
        """A refusal whose message quotes stored text reaches stderr escaped."""
        assert store.configs() == []

        def refuse(*_args: object, **_kwargs: object) -> object:
            msg = "config 'p\x1b[2J\u202e' is locked by 'x\rforged'"
            raise sr.ConfigError(msg)

        monkeypatch.setattr(sr.Store, "config", refuse)
        result = run("config", "show", "pricing")
        assert result.exit_code == 1
        _assert_inert(result.stderr)
        assert "p\\x1b[2J\\u202e" in result.stderr


class TestLengthLimits:
    def test_a_message_over_the_limit_is_refused_before_writing(self, store):
        """A message longer than 10,000 characters is refused, naming the limit; nothing stored."""
        cfg = store.config("pricing")
        with pytest.raises(sr.InvalidArgumentError, match="over the limit of 10,000"):
            cfg.publish({"a": 1}, author="a", message="m" * (MAX_MESSAGE_LENGTH + 1))
        assert store.configs() == []

    def test_a_50_mb_message_is_refused(self, store):
        """The 50 MB message that used to be stored is refused."""
        with pytest.raises(sr.InvalidArgumentError, match="50,000,000 characters"):
            store.config("pricing").publish({"a": 1}, author="a", message="m" * 50_000_000)
        assert store.configs() == []

    def test_limits_are_inclusive(self, store):
        """A 10,000-character message and a 200-character author are stored intact."""
        version = store.config("pricing").publish(
            {"a": 1}, author="a" * NAME_LENGTH, message="m" * MAX_MESSAGE_LENGTH
        )
        assert (len(version.author), len(version.message)) == (NAME_LENGTH, MAX_MESSAGE_LENGTH)

    def test_an_author_over_200_characters_is_refused(self, store):
        """An author longer than the 200-character column is refused before writing."""
        with pytest.raises(sr.InvalidArgumentError, match="at most 200 characters"):
            store.config("pricing").publish({"a": 1}, author="a" * 201)
        assert store.configs() == []

    def test_a_rollback_message_over_the_limit_changes_nothing(self, store):
        """rollback(message=…) over the limit is refused and the head stays."""
        cfg = store.config("pricing")
        cfg.publish({"a": 1}, author="a")
        cfg.publish({"a": 2}, author="a")
        with pytest.raises(sr.InvalidArgumentError, match="10,000"):
            cfg.rollback(author="a", message="m" * (MAX_MESSAGE_LENGTH + 1))
        assert cfg.refresh().version == 2

    def test_the_cli_refuses_a_long_message_with_exit_1(self, store, run, tmp_path):
        """config publish -m with 10,001 characters exits 1 naming the limit; nothing stored."""
        path = tmp_path / "rules.json"
        path.write_text('{"x": 1}', encoding="utf-8")
        message = "m" * (MAX_MESSAGE_LENGTH + 1)
        result = run("config", "publish", "pricing", str(path), "-m", message)
        assert result.exit_code == 1
        assert "over the limit of 10,000" in result.stderr
        assert store.configs() == []

    def test_the_cli_refuses_a_long_author_with_exit_1(self, store, run, tmp_path):
        """config publish --author with 201 characters exits 1 naming the limit; nothing stored."""
        path = tmp_path / "rules.json"
        path.write_text('{"x": 1}', encoding="utf-8")
        result = run("config", "publish", "pricing", str(path), "--author", "a" * 201)
        assert result.exit_code == 1
        assert "at most 200 characters" in result.stderr
        assert store.configs() == []
