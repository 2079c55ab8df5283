"""L7: config files given to the CLI are bounded, strict, and refused in one line (exit 2)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import yaml
from click.testing import CliRunner, Result

from safe_release.cli import _input
from safe_release.cli._app import cli
from safe_release.cli._input import MAX_DEPTH, MAX_DIGITS, MAX_FILE_BYTES
from safe_release.cli._output import CliError, InputError

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import Backend

Run = Callable[..., Result]


@pytest.fixture(name="run")
def fixture_run(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke the CLI against the backend under test (tables created); errors propagate."""
    monkeypatch.delenv("SAFE_RELEASE_URL", raising=False)
    monkeypatch.delenv("SAFE_RELEASE_SCHEMA", raising=False)
    monkeypatch.setenv("SAFE_RELEASE_AUTHOR", "ci-bot")
    runner = CliRunner()
    where = ["--url", backend.url] + (["--schema", backend.schema] if backend.schema else [])

    def run(*args: str, stdin: object = None) -> Result:
        return runner.invoke(cli, [*where, *args], input=stdin, catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    return run


@pytest.fixture(name="publish")
def fixture_publish(run: Run, tmp_path: Path) -> Callable[[str, str], Result]:
    """Publish ``text`` from a file with the given suffix as config 'pricing'."""

    def publish(text: str, suffix: str) -> Result:
        path = tmp_path / f"rules{suffix}"
        path.write_text(text, encoding="utf-8")
        return run("config", "publish", "pricing", str(path))

    return publish


def _refused(result: Result, run: Run, *fragments: str) -> None:
    """Exit 2, exactly one ``error:`` line naming ``fragments``, and nothing stored."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr
    assert run("config", "list", "--json").stdout.strip() == "[]"


def _content(run: Run) -> object:
    result = run("config", "show", "pricing", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["content"]


class _CountingStdin(io.BytesIO):
    """Binary stdin that records how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


class TestSizeBeforeParsing:
    def test_oversized_yaml_file_is_refused_without_parsing(self, run, publish, monkeypatch):
        """3 MB of YAML is refused by its size alone: the parser never runs."""

        def never(*_args: object, **_kwargs: object) -> object:
            raise AssertionError("parsed an oversized file")  # pragma: no cover

        monkeypatch.setattr(_input, "parse_yaml", never)
        text = "".join(f"key_{i}: [a, b, c]\n" for i in range(200_000))
        assert len(text) > MAX_FILE_BYTES
        _refused(publish(text, ".yaml"), run, f"larger than {MAX_FILE_BYTES:,} bytes")

    def test_oversized_stdin_is_read_only_up_to_the_limit(self, run):
        """From stdin, at most one byte past the limit is read before the refusal."""
        stdin = _CountingStdin(b"a: 1\n" * 1_000_000)
        _refused(run("config", "publish", "pricing", "-", stdin=stdin), run, "<stdin>")
        assert stdin.taken == MAX_FILE_BYTES + 1

    def test_a_file_of_exactly_the_limit_is_published(self, run, publish):
        """A file of exactly MAX_FILE_BYTES bytes (mostly layout) is accepted."""
        body = '{"a": 1}'
        result = publish(body + " " * (MAX_FILE_BYTES - len(body)), ".json")
        assert result.exit_code == 0, result.stderr
        assert _content(run) == {"a": 1}


class TestJson:
    def test_a_5000_digit_integer_is_refused_in_one_line(self, run, publish):
        """A 5000-digit integer is a one-line refusal (exit 2), not a traceback."""
        _refused(publish('{"n": ' + "7" * 5000 + "}", ".json"), run, f"{MAX_DIGITS:,} digits")

    def test_an_integer_of_the_longest_length_is_kept_exactly(self, run, publish):
        """An integer of exactly MAX_DIGITS digits is published and read back exactly."""
        digits = "7" * MAX_DIGITS
        assert publish('{"n": -' + digits + "}", ".json").exit_code == 0
        assert _content(run) == {"n": -int(digits)}

    def test_deep_nesting_is_refused_in_one_line(self, run, publish):
        """100,000 nested arrays are refused (exit 2) before the recursive parser runs."""
        text = "[" * 100_000 + "]" * 100_000
        _refused(publish(text, ".json"), run, f"deeper than {MAX_DEPTH} levels", "line 1")

    def test_nesting_up_to_the_limit_is_published(self, run, publish):
        """MAX_DEPTH nested arrays are accepted; one more is refused."""
        deepest = "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH
        assert publish(deepest, ".json").exit_code == 0
        assert _content(run) == json.loads(deepest)
        one_more = publish("[" + deepest + "]", ".json")
        assert one_more.exit_code == 2
        assert "deeper than" in one_more.stderr

    @pytest.mark.parametrize(
        "text", ['{"price": 1, "price": 2}', '{"a": {"sku": 1, "sku": 1}}', '[{"x": 1, "x": 1}]']
    )
    def test_duplicate_keys_are_refused_naming_the_key(self, run, publish, text):
        """A key given twice in one object is refused, naming the key, not last-wins."""
        key = "price" if "price" in text else ("sku" if "sku" in text else "x")
        _refused(publish(text, ".json"), run, f"the key '{key}' appears twice")

    @pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
    def test_numbers_json_cannot_hold_are_refused(self, run, publish, number):
        """NaN, infinities and overflowing floats are refused rather than stored as inf."""
        _refused(publish('{"x": ' + number + "}", ".json"), run, "not finite")

    def test_json_on_stdin_keeps_the_json_rules(self, run):
        """JSON piped to stdin is held to the JSON rules (duplicates refused, no YAML retry)."""
        result = run("config", "publish", "pricing", "-", stdin='{"a": 1, "a": 2}')
        _refused(result, run, "<stdin>", "'a' appears twice")


def _nested_yaml(levels: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(levels)) + "  " * levels + "leaf: 1\n"


class TestYamlStructure:
    def test_500_nested_levels_are_refused_in_one_line(self, run, publish):
        """YAML nested 500 levels is refused (exit 2) with its line, not a RecursionError."""
        _refused(publish(_nested_yaml(500), ".yaml"), run, "deeper than", "line 65")

    def test_nesting_up_to_the_limit_is_published(self, run, publish):
        """MAX_DEPTH - 1 nested mappings plus the leaf's mapping are accepted."""
        assert publish(_nested_yaml(MAX_DEPTH - 1), ".yaml").exit_code == 0
        assert "k62" in json.dumps(_content(run))

    def test_deep_flow_nesting_is_refused(self, run, publish):
        """100,000 nested flow sequences are refused as too deep (exit 2)."""
        _refused(publish("[" * 100_000 + "]" * 100_000, ".yaml"), run, "deeper than")

    @pytest.mark.parametrize(
        ("text", "line"),
        [("price: 1\nprice: 2\n", 2), ("a:\n  sku: 1\n  sku: 1\n", 3), ('"x": 1\nx: 2\n', 2)],
    )
    def test_duplicate_keys_are_refused_with_their_line(self, run, publish, text, line):
        """A mapping key given twice is refused, naming the key and its line."""
        key = "price" if "price" in text else ("sku" if "sku" in text else "x")
        _refused(publish(text, ".yaml"), run, f"repeats the key '{key}'", f"(line {line},")

    def test_an_alias_bomb_is_refused_at_the_first_alias(self, run, publish):
        """A billion-laughs document is refused at its first alias, nothing expanded."""
        lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i in range(1, 10):
            prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
            lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
        _refused(publish("\n".join(lines) + "\n", ".yaml"), run, "alias", "(line 2,")

    def test_a_second_document_is_refused(self, run, publish):
        """Two YAML documents in one file are refused, not silently cut to the first."""
        _refused(publish("a: 1\n---\na: 2\n", ".yaml"), run, "more than one YAML document")

    @pytest.mark.parametrize(
        "value",
        [
            "!!binary aGVsbG8=",
            "!!timestamp 2024-11-11",
            "!!set {a, b}",
            "!!python/object:os.system {}",
            "!custom x",
        ],
    )
    def test_tags_other_than_the_core_ones_are_refused(self, run, publish, value):
        """Binary, timestamp, set, Python and custom tags are refused: config is plain data."""
        _refused(publish(f"x: {value}\n", ".yaml"), run, "uses the YAML tag")

    @pytest.mark.parametrize("text", ["1: a\n", "true: a\n", "null: a\n", "? [a, b]\n: c\n"])
    def test_keys_that_are_not_text_are_refused(self, run, publish, text):
        """Mapping keys must be text, as in JSON: numbers, bools, null and lists are refused."""
        _refused(publish(text, ".yaml"), run, "key")


class TestYamlScalars:
    @pytest.mark.parametrize(
        ("plain", "says"),
        [
            ("NO", "the text 'NO' in YAML 1.2 but false in YAML 1.1"),
            ("no", "but false in YAML 1.1"),
            ("Yes", "but true in YAML 1.1"),
            ("on", "but true in YAML 1.1"),
            ("OFF", "but false in YAML 1.1"),
            ("0755", "is 755 in YAML 1.2 but 493 in YAML 1.1"),
            ("12:30", "the text '12:30' in YAML 1.2 but 750 in YAML 1.1"),
            ("190:20:30.15", "in YAML 1.1"),
            ("1e3", "is 1000.0 in YAML 1.2 but the text '1e3' in YAML 1.1"),
            ("2024-11-11", "but a date/time in YAML 1.1"),
            ("2024-11-11T09:30:00Z", "but a date/time in YAML 1.1"),
            ("0o17", "is 15 in YAML 1.2"),
            ("0b1010", "but 10 in YAML 1.1"),
            ("1_000", "but 1000 in YAML 1.1"),
            ("09", "is 9 in YAML 1.2"),
        ],
    )
    def test_values_yaml_versions_read_differently_are_refused(self, run, publish, plain, says):
        """A plain value YAML 1.1 and 1.2 read differently is refused, naming both readings."""
        _refused(publish(f"x: {plain}\n", ".yaml"), run, f"'{plain}'", says, "quote it")

    def test_a_merge_key_is_refused(self, run, publish):
        """``<<`` (a merge in YAML 1.1, a plain key in 1.2) is refused."""
        _refused(publish("<<: {a: 1}\nb: 2\n", ".yaml"), run, "merge key")

    @pytest.mark.parametrize("plain", [".inf", "-.Inf", ".NaN"])
    def test_non_finite_floats_are_refused(self, run, publish, plain):
        """YAML infinities and NaN are refused: JSON cannot hold them."""
        _refused(publish(f"x: {plain}\n", ".yaml"), run, "not finite")

    @pytest.mark.parametrize(
        ("plain", "value"),
        [
            ("true", True),
            ("False", False),
            ("null", None),
            ("~", None),
            ("", None),
            ("12", 12),
            ("-3", -3),
            ("0", 0),
            ("0x1F", 31),
            ("1.5", 1.5),
            ("1.0e+3", 1000.0),
            ("'0755'", "0755"),
            ('"NO"', "NO"),
            ("!!str 12:30", "12:30"),
            ("!!int 0755", 755),
            ("!!float 2", 2.0),
            ("y", "y"),
            ("Norway", "Norway"),
            ("on call", "on call"),
        ],
    )
    def test_unambiguous_values_keep_their_yaml_12_meaning(self, run, publish, plain, value):
        """Values both YAML versions agree on, quoted or tagged values, publish as written."""
        result = publish(f"x: {plain}\n", ".yaml")
        assert result.exit_code == 0, result.stderr
        assert _content(run) == {"x": value}

    def test_a_tag_that_does_not_fit_its_value_is_refused(self, run, publish):
        """``!!int abc`` is refused rather than guessed at."""
        _refused(publish("x: !!int abc\n", ".yaml"), run, "is not a YAML 1.2 int")


class TestParsers:
    def test_brackets_inside_json_strings_do_not_count_as_nesting(self):
        """The depth scan skips strings, escaped quotes included."""
        text = json.dumps({"a": "[" * 500, "b": '\\"{' * 500, "c": [[1]]})
        assert _input.parse_json(text, "f.json") == json.loads(text)

    @pytest.mark.parametrize("tail", ["", "\\"])
    def test_an_unterminated_string_is_scanned_once(self, tail):
        """2 MB of escaped quotes with no closing one: the depth scan stays linear."""
        text = '["' + '\\"' * (MAX_FILE_BYTES // 2 - 2) + tail
        with pytest.raises(CliError, match="Unterminated string"):
            _input.parse_json(text, "f.json")

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("x: NO\n", "false in YAML 1.1"),
            ("a: 1\na: 2\n", "repeats the key 'a'"),
            ("a: &x [1]\nb: *x\n", "alias"),
            (_nested_yaml(100), "deeper than"),
        ],
    )
    def test_the_pure_python_parser_keeps_the_same_rules(self, monkeypatch, text, fragment):
        """Without libyaml (PyYAML's pure-Python parser) the same files are refused alike."""
        monkeypatch.setattr(_input, "_EVENTS", yaml.BaseLoader)
        with pytest.raises(InputError, match=re.escape(fragment)):
            _input.parse_yaml(text, "f.yaml")

    def test_the_pure_python_parser_reads_the_same_data(self, monkeypatch):
        """Both parsers give the same data for an ordinary file."""
        text = "a: [1, 2.5, 'x', null, true]\nb:\n  c: 0x1F\n  d: !!str 12:30\n"
        expected = _input.parse_yaml(text, "f.yaml")
        monkeypatch.setattr(_input, "_EVENTS", yaml.BaseLoader)
        assert _input.parse_yaml(text, "f.yaml") == expected
        assert expected == {"a": [1, 2.5, "x", None, True], "b": {"c": 31, "d": "12:30"}}
