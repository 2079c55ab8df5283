"""Every shell block of README.md and docs/quickstart.md runs, against a scratch store.

The commands are read from the pages themselves (with Sybil's Markdown lexer), so
a page that changes a command changes what runs here. Each command runs in
bash, in a scratch directory, with ``$SAFE_RELEASE_URL`` an SQLite file there
and ``$HOME`` inside it: no key is written to the real home. Two kinds of step
are not run, and are checked instead: creating and activating the virtualenv
and ``pip install`` (they must be the documented install from a checkout), and
``python -m pytest`` (the suite this test is part of). A ``--url`` naming a
server the reader runs (PostgreSQL) is pointed at the scratch store.

The checks are exit codes and facts read back from the store, not the layout
of tables, which the CLI is free to change.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import metadata
from pathlib import Path

import pytest
from sqlalchemy import MetaData
from sybil import Document
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

import safe_release as sr
from safe_release.migrations import compat

ROOT = Path(__file__).resolve().parent.parent
README = "README.md"
QUICKSTART = "docs/quickstart.md"
SHELL_LANGUAGES = frozenset({"bash", "console", "shell", "sh"})

# Steps that are not run, by what they are.
VENV_STEPS = frozenset({"python3 -m venv .venv", ". .venv/bin/activate"})
THE_SUITE = "python -m pytest"
INSTALL = re.compile(r"pip install (?:-e )?'\.\[(?P<extras>[a-z,]+)\]'")

# The one block of each page each test runs, found by a piece of its text.
COVERED = {
    (README, "python3 -m venv"): "test_readme_install_and_demo",
    (README, "config publish pricing"): "test_readme_config_commands",
    (README, "migrations check"): "test_readme_migrations_commands",
    (QUICKSTART, "pip install '.[cli]'"): "test_quickstart_install_is_the_readmes",
    (QUICKSTART, "pip install '.[cli,postgres]'"): "test_quickstart_install_is_the_readmes",
    (QUICKSTART, "safe-release demo\n"): "test_quickstart_demo",
    (QUICKSTART, "demo --db demo.db"): "test_quickstart_demo_database",
}


@dataclass(frozen=True)
class Block:
    """One fenced shell block: where it is and the commands it shows."""

    page: str
    line: int
    text: str
    commands: tuple[str, ...]


def shell_blocks(page: str) -> list[Block]:
    """The shell blocks of ``page`` (relative to the repository), in order."""
    path = ROOT / page
    document = Document(path.read_text(encoding="utf-8"), str(path))
    blocks = []
    for region in FencedCodeBlockLexer(language=r"\w+")(document):
        if region.lexemes["language"] not in SHELL_LANGUAGES:
            continue
        text = str(region.lexemes["source"])
        if region.lexemes["language"] == "console":
            commands = [line[2:] for line in text.splitlines() if line.startswith("$ ")]
        else:
            commands = [
                line for line in text.splitlines() if line.strip() and not line.startswith("#")
            ]
        line = document.text.count("\n", 0, region.start) + 1
        blocks.append(Block(page, line, text, tuple(commands)))
    return blocks


def block(page: str, containing: str) -> Block:
    """The one shell block of ``page`` whose text contains ``containing``."""
    [found] = [b for b in shell_blocks(page) if containing in b.text + "\n"]
    return found


def steps(command: str) -> list[str]:
    """The steps of a ``a && b && c`` command line, comments dropped."""
    return [step.strip() for step in command.split("#", maxsplit=1)[0].split(" && ")]


def is_not_run(step: str) -> bool:
    """Whether ``step`` installs (checked, not run) or is this test suite itself."""
    return step in VENV_STEPS or step.startswith("pip install") or step == THE_SUITE


@dataclass
class Shell:
    """Runs documented commands in a scratch directory against a scratch store."""

    cwd: Path
    home: Path
    url: str
    env: dict[str, str]

    def run(self, command: str, *, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """Run the runnable steps of ``command``; the last exit code must be ``expect``."""
        runnable = [step for step in steps(command) if not is_not_run(step)]
        assert runnable, f"nothing to run in {command!r}"
        line = " && ".join(runnable)
        # A server the reader runs stands for the scratch store.
        line = re.sub(r"--url (?!sqlite)\S+", f"--url {self.url}", line)
        done = subprocess.run(
            ["bash", "-c", line],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == expect, (
            f"{line!r} exited {done.returncode}, not {expect}:\n{done.stdout}\n{done.stderr}"
        )
        return done


@pytest.fixture(name="shell")
def _shell(tmp_path: Path) -> Shell:
    """A scratch directory, home and store, and the venv's ``safe-release`` on PATH."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFE_RELEASE_")}
    bindir = str(Path(sys.executable).parent)
    env.update(
        HOME=str(home),
        SAFE_RELEASE_URL=url,
        PATH=os.pathsep.join([bindir, env.get("PATH", "")]),
        PYTHONWARNINGS="error",
        NO_COLOR="1",
    )
    env.pop("ERP_DATABASE_URL", None)
    return Shell(cwd=work, home=home, url=url, env=env)


def store_at(url: str, shell: Shell) -> sr.Store:
    """The store at ``url``, with the key the CLI uses: the scratch home's key file.

    The file is created (mode 0600) if no command has created it yet.
    """
    key = shell.home / ".config" / "safe_release" / "signing.key"
    if not key.exists():
        key.parent.mkdir(parents=True)
        key.touch(mode=0o600)
        key.write_text(secrets.token_hex(32) + "\n")
    return sr.connect(url, signing_key=key.read_text().splitlines()[0])


class TestCoverage:
    def test_every_shell_block_has_a_test(self) -> None:
        """Each shell block of the two pages is the block of exactly one test here."""
        for page in (README, QUICKSTART):
            for found in shell_blocks(page):
                owners = [test for (p, text), test in COVERED.items()
                          if p == page and text in found.text + "\n"]  # fmt: skip
                assert len(owners) == 1, f"{page}:{found.line} is run by {owners or 'no test'}"

    def test_every_listed_block_exists(self) -> None:
        """Every block a test names is on its page, once."""
        for page, text in COVERED:
            assert block(page, text).commands


class TestInstall:
    def test_readme_install_steps_are_from_the_checkout(self) -> None:
        """The README installs from the checkout, with extras the package declares."""
        extras = metadata("safe-release").get_all("Provides-Extra") or []
        not_run = [
            step
            for page in (README, QUICKSTART)
            for found in shell_blocks(page)
            for command in found.commands
            for step in steps(command)
            if is_not_run(step)
        ]
        assert {"pip install '.[cli]'", "pip install -e '.[tests]'"} <= set(not_run)
        for step in not_run:
            if step.startswith("pip install"):
                match = INSTALL.fullmatch(step)
                assert match, f"{step!r} does not install from the checkout"
                assert set(match["extras"].split(",")) <= set(extras)

    def test_quickstart_install_is_the_readmes(self) -> None:
        """The quickstart's install line is the README's, without the demo."""
        [readme_demo, _] = block(README, "python3 -m venv").commands
        [quickstart] = block(QUICKSTART, "pip install '.[cli]'").commands
        assert readme_demo == quickstart + " && safe-release demo"
        [postgres] = block(QUICKSTART, "pip install '.[cli,postgres]'").commands
        assert postgres == "pip install '.[cli,postgres]'"


class TestReadme:
    def test_readme_install_and_demo(self, shell: Shell) -> None:
        """The install line's demo runs and writes its key under the (scratch) home."""
        demo, tests = block(README, "python3 -m venv").commands
        assert [s for s in steps(tests) if not is_not_run(s)] == []
        assert steps(tests)[-1] == THE_SUITE
        shell.run(demo)
        assert (shell.home / ".config" / "safe_release" / "signing.key").is_file()

    def test_readme_config_commands(self, shell: Shell) -> None:
        """Publish, history, diff, rollback and db current work on a store with a v1."""
        with store_at(shell.url, shell) as store:
            store.config("pricing").publish(
                {"min_margin": "0.15", "max_discount": "0.20"}, author="pricing-team"
            )
        (shell.cwd / "rules.yaml").write_text("min_margin: '0.01'\nmax_discount: '0.80'\n")
        publish, history, diff, rollback, current = block(README, "config publish").commands
        shell.run(publish)
        assert "v1" in shell.run(history).stdout
        assert "max_discount" in shell.run(diff).stdout
        shell.run(rollback)
        revision = json.loads(shell.run(current).stdout)
        assert revision["up_to_date"] is True
        with store_at(shell.url, shell) as store:
            head = store.config("pricing").current()
        assert (head.version, head.restores) == (3, 1)
        assert head.content == {"min_margin": "0.15", "max_discount": "0.20"}

    def test_readme_migrations_commands(self, shell: Shell) -> None:
        """In the example ERP: check and lint pass; plan reports; upgrade refuses 0007."""
        shutil.copytree(ROOT / "examples" / "erp_migrations", shell.cwd, dirs_exist_ok=True)
        with store_at(shell.url, shell) as store:
            compat.record(store, "erp", "1.0", MetaData())  # a release of the app
        check, lint, plan, upgrade = block(README, "migrations check").commands
        shell.run(check)
        shell.run(lint)
        assert "0007" in shell.run(plan, expect=1).stdout  # 1: revisions not verified
        refused = shell.run(upgrade, expect=1)
        assert "contract revision 0007" in refused.stdout + refused.stderr
        erp = sqlite3.connect(shell.cwd / "erp.db")
        try:
            tables = erp.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            erp.close()
        assert ("orders",) not in tables  # refused before any revision ran


class TestQuickstart:
    def test_quickstart_demo(self, shell: Shell) -> None:
        """`safe-release demo` exits 0 and creates its key where the page says."""
        [demo] = block(QUICKSTART, "safe-release demo\n").commands
        shell.run(demo)
        key = shell.home / ".config" / "safe_release" / "signing.key"
        assert key.stat().st_mode & 0o777 == 0o600

    def test_quickstart_demo_database(self, shell: Shell) -> None:
        """The kept database holds both releases, the config's rollback and the report."""
        demo, releases, history, report = block(QUICKSTART, "demo --db demo.db").commands
        shell.run(demo)
        for command in (releases, history, report):
            assert shell.run(command).stdout.strip()
        with store_at(f"sqlite:///{shell.cwd / 'demo.db'}", shell) as store:
            statuses = sorted(r.status.value for r in store.releases())
            head = store.config("pricing").current()
        assert statuses == ["rolled_back", "succeeded"]
        assert (head.version, head.restores) == (3, 1)
