"""Single-use rotating refresh tokens: token stores, refresh locks and `RotatingTokens`.

`Authority` plays the marketplace's token endpoint as Shopee runs it: every
refresh token works once; a replay is refused. It keeps its state in an SQLite
file so that spawned processes share it. Every lock backend runs (memory, and
the store on SQLite and PostgreSQL). Fake clocks only: no test waits on time.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import sqlite3
import stat
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import Engine, select, text

import safe_release as sr
from safe_release.adapters import (
    FileTokenStore,
    MemoryRefreshLock,
    MemoryTokenStore,
    RefreshLock,
    RotatingTokens,
    Secret,
    StoredToken,
    StoreRefreshLock,
    TokenGrant,
    TokenStore,
)
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceTimeoutError,
    MarketplaceTransportError,
    ReauthorizationRequired,
    StoreError,
    TokenRefreshError,
)
from safe_release.exceptions import (
    MarketplaceAuthError as AuthError,
)
from safe_release.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import Backend

T0 = 1_767_225_600.0
ACCESS_S = 4 * 3600.0
KEY = "shopee|2001887|600000"
URL = "https://partner.test/api/v2/shop/auth_partner?sign=x"


class Crash(BaseException):
    """A process dying between the refresh and saving its answer."""


class Authority:
    """The marketplace's token endpoint: single-use refresh tokens, in an SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS tok (refresh TEXT PRIMARY KEY, state TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS acc (access TEXT PRIMARY KEY, until REAL)")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        return db

    def _issue(self, db: sqlite3.Connection, now: float) -> tuple[str, str]:
        n = db.execute("SELECT COUNT(*) FROM tok").fetchone()[0]
        refresh, access = f"refresh-secret-{n:04d}", f"access-secret-{n:04d}"
        db.execute("INSERT INTO tok VALUES (?, 'valid')", (refresh,))
        db.execute("INSERT INTO acc VALUES (?, ?)", (access, now + ACCESS_S))
        return refresh, access

    def authorize(self, now: float) -> StoredToken:
        """A (re-)authorisation: a first pair."""
        db = self._db()
        try:
            refresh, access = self._issue(db, now)
            db.execute("COMMIT")
        finally:
            db.close()
        return StoredToken(Secret(access), now + ACCESS_S, Secret(refresh), now + 30 * 86400)

    def refresh(self, token: Secret, now: float) -> TokenGrant:
        db = self._db()
        try:
            row = db.execute("SELECT state FROM tok WHERE refresh = ?", (token.reveal(),))
            state = row.fetchone()
            if state is None or state[0] != "valid":
                db.execute("COMMIT")
                msg = "Invalid refresh_token."
                raise ReauthorizationRequired(msg, marketplace="shopee")
            db.execute("UPDATE tok SET state = 'used' WHERE refresh = ?", (token.reveal(),))
            refresh, access = self._issue(db, now)
            db.execute("COMMIT")
        finally:
            db.close()
        return TokenGrant(Secret(access), ACCESS_S, Secret(refresh), 30 * 86400.0)

    def refreshes(self) -> int:
        """How many refreshes succeeded (refresh tokens used)."""
        with sqlite3.connect(self.path) as db:
            return int(db.execute("SELECT COUNT(*) FROM tok WHERE state = 'used'").fetchone()[0])

    def valid(self, access: Secret, now: float) -> bool:
        with sqlite3.connect(self.path) as db:
            row = db.execute("SELECT until FROM acc WHERE access = ?", (access.reveal(),))
            found = row.fetchone()
        return found is not None and now < found[0]

    def usable(self, refresh: Secret) -> bool:
        with sqlite3.connect(self.path) as db:
            row = db.execute("SELECT state FROM tok WHERE refresh = ?", (refresh.reveal(),))
            found = row.fetchone()
        return found is not None and found[0] == "valid"

    def secrets(self) -> list[str]:
        with sqlite3.connect(self.path) as db:
            return [
                r[0] for r in db.execute("SELECT refresh FROM tok UNION SELECT access FROM acc")
            ]


@pytest.fixture(name="authority")
def fixture_authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path / "authority.db")


@pytest.fixture(name="clock")
def fixture_clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture(
    name="lock",
    params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def fixture_lock(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[RefreshLock]:
    """Each lock test runs on the memory lock and on the store (SQLite, PostgreSQL)."""
    if request.param == "memory":
        yield MemoryRefreshLock()
        return
    if request.param == "sqlite":
        with sr.connect(f"sqlite:///{tmp_path / 'lock.db'}", clock=clock) as store:
            yield StoreRefreshLock(store)
        return
    engine: Engine = request.getfixturevalue("pg_engine")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = engine.url.render_as_string(hide_password=False)
    with sr.connect(url, schema=schema, clock=clock) as store:
        yield StoreRefreshLock(store)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def tokens(
    authority: Authority,
    store: TokenStore,
    lock: RefreshLock,
    clock: FakeClock,
    **options: Any,
) -> RotatingTokens:
    return RotatingTokens(
        KEY,
        store,
        lambda token: authority.refresh(token, clock.time()),
        lock=lock,
        clock=clock,
        authorization_url=lambda: URL,
        marketplace="shopee",
        shop="600000",
        **options,
    )


def authorized(authority: Authority, clock: FakeClock) -> MemoryTokenStore:
    """A token store holding a first pair."""
    return MemoryTokenStore({KEY: authority.authorize(clock.time())})


# -- token stores ---------------------------------------------------------------------------


class TestStoredToken:
    def test_repr_masks_secrets(self) -> None:
        pair = StoredToken(Secret("acc-xyz"), T0, Secret("ref-xyz"), None)
        assert "xyz" not in repr(pair)
        assert "xyz" not in str(pair)

    @pytest.mark.parametrize(
        "args",
        [
            ("plain", T0, Secret("r"), None),
            (Secret("a"), T0, "plain", None),
            (Secret("a"), "soon", Secret("r"), None),
            (Secret("a"), float("nan"), Secret("r"), None),
            (Secret("a"), T0, Secret("r"), float("inf")),
            (Secret("a"), True, Secret("r"), None),
        ],
    )
    def test_bad_fields_are_refused(self, args: tuple[Any, ...]) -> None:
        with pytest.raises(InvalidArgumentError):
            StoredToken(*args)


class TestMemoryTokenStore:
    def test_round_trip(self) -> None:
        store = MemoryTokenStore()
        assert store.load(KEY) is None
        pair = StoredToken(Secret("a"), T0, Secret("r"), T0 + 1)
        store.save(KEY, pair)
        assert store.load(KEY) == pair
        assert isinstance(store, TokenStore)

    def test_bad_input(self) -> None:
        store = MemoryTokenStore()
        with pytest.raises(InvalidArgumentError):
            store.save(KEY, "token")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            store.load("")


class TestFileTokenStore:
    def test_round_trip_survives_a_new_instance(self, tmp_path: Path) -> None:
        path = tmp_path / "tokens.json"
        pair = StoredToken(Secret("acc-1"), T0, Secret("ref-1"), None)
        FileTokenStore(path).save(KEY, pair)
        FileTokenStore(path).save("other", StoredToken(Secret("a2"), T0, Secret("r2"), T0))
        assert FileTokenStore(path).load(KEY) == pair
        assert FileTokenStore(path).load("missing") is None

    def test_file_is_private_and_replaced_atomically(self, tmp_path: Path) -> None:
        path = tmp_path / "tokens.json"
        store = FileTokenStore(path)
        store.save(KEY, StoredToken(Secret("acc-1"), T0, Secret("ref-1"), None))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]
        assert "ref-1" not in repr(store)

    @pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"k": {"access_token": 1}}'])
    def test_garbage_file_is_a_store_error(self, tmp_path: Path, content: str) -> None:
        path = tmp_path / "tokens.json"
        path.write_text(content.replace('"k"', f'"{KEY}"'))
        with pytest.raises(StoreError) as caught:
            FileTokenStore(path).load(KEY)
        assert content not in str(caught.value) or content == "[1, 2]"

    def test_missing_folder_is_a_store_error(self, tmp_path: Path) -> None:
        store = FileTokenStore(tmp_path / "nowhere" / "tokens.json")
        with pytest.raises(StoreError):
            store.save(KEY, StoredToken(Secret("a"), T0, Secret("r"), None))


# -- refresh locks ---------------------------------------------------------------------------


class TestRefreshLock:
    def test_one_holder_at_a_time(self, lock: RefreshLock) -> None:
        assert isinstance(lock, RefreshLock)
        assert lock.acquire(KEY, "a", now=T0, lease=60)
        assert not lock.acquire(KEY, "b", now=T0 + 1, lease=60)
        assert lock.acquire(KEY, "a", now=T0 + 1, lease=60)  # re-entrant for its holder
        lock.release(KEY, "b")  # not the holder: nothing
        assert not lock.acquire(KEY, "b", now=T0 + 2, lease=60)
        lock.release(KEY, "a")
        assert lock.acquire(KEY, "b", now=T0 + 2, lease=60)

    def test_a_dead_holder_expires_after_its_lease(self, lock: RefreshLock) -> None:
        assert lock.acquire(KEY, "dead", now=T0, lease=60)
        assert not lock.acquire(KEY, "b", now=T0 + 59.9, lease=60)
        assert lock.acquire(KEY, "b", now=T0 + 60, lease=60)
        lock.release(KEY, "dead")  # the late release of the dead one changes nothing
        assert not lock.acquire(KEY, "c", now=T0 + 61, lease=60)

    def test_marker_round_trip(self, lock: RefreshLock) -> None:
        assert lock.marker(KEY) is None
        lock.mark(KEY, "f" * 64, now=T0)
        assert lock.marker(KEY) == "f" * 64
        assert lock.acquire(KEY, "a", now=T0, lease=60)
        lock.release(KEY, "a")
        assert lock.marker(KEY) == "f" * 64  # the marker outlives the lock
        lock.clear_mark(KEY)
        assert lock.marker(KEY) is None

    def test_bad_arguments(self, lock: RefreshLock) -> None:
        with pytest.raises(InvalidArgumentError):
            lock.acquire("", "a", now=T0, lease=60)
        with pytest.raises(InvalidArgumentError):
            lock.acquire(KEY, "", now=T0, lease=60)
        with pytest.raises(InvalidArgumentError):
            lock.acquire(KEY, "a", now=T0, lease=0)

    def test_store_lock_needs_a_store(self) -> None:
        with pytest.raises(InvalidArgumentError):
            StoreRefreshLock("sqlite://")  # type: ignore[arg-type]


# -- RotatingTokens ---------------------------------------------------------------------------


class SpyStore(MemoryTokenStore):
    """A token store that records saves and can be told to fail them."""

    def __init__(self, pair: StoredToken) -> None:
        self.saves, self.fail = 0, 0
        super().__init__({KEY: pair})
        self.saves = 0

    def save(self, key: str, token: StoredToken) -> None:
        if self.fail:
            self.fail -= 1
            msg = "vault unavailable"
            raise OSError(msg)
        self.saves += 1
        super().save(key, token)


class TestRotatingTokens:
    def test_a_fresh_stored_token_is_used_without_refreshing(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        store = authorized(authority, clock)
        source = tokens(authority, store, lock, clock)
        assert authority.valid(source.token(), clock.time())
        assert authority.refreshes() == 0
        assert source.expires_at == T0 + ACCESS_S
        assert source.refresh_expires_at == T0 + 30 * 86400

    def test_expiry_refreshes_once_and_saves_before_use(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        store = SpyStore(authority.authorize(clock.time()))
        source = tokens(authority, store, lock, clock)
        old = source.token()
        clock.advance(ACCESS_S - 299)  # inside the 300 s skew: refreshed ahead of expiry
        new = source.token()
        assert new != old
        assert authority.refreshes() == 1
        saved = store.load(KEY)
        assert saved is not None
        assert (saved.access_token, store.saves) == (new, 1)
        assert authority.usable(saved.refresh_token)
        assert lock.marker(KEY) is None
        assert source.refresh_expires_at == clock.time() + 30 * 86400

    def test_threads_refresh_exactly_once(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        """16 threads over 20 expiries: one refresh per expiry, every token valid."""
        store = authorized(authority, clock)
        sources = [tokens(authority, store, lock, clock) for _ in range(4)]  # 4 "workers"
        for cycle in range(20):
            barrier = threading.Barrier(16)
            got: list[Secret] = []
            errors: list[Exception] = []

            def work(
                i: int,
                barrier: threading.Barrier = barrier,
                got: list[Secret] = got,
                errors: list[Exception] = errors,
            ) -> None:
                barrier.wait()
                try:
                    got.append(sources[i % 4].token())
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert len(set(got)) == 1
            assert authority.valid(got[0], clock.time())
            assert authority.refreshes() == cycle
            clock.advance(ACCESS_S)
        saved = store.load(KEY)
        assert saved is not None
        assert authority.usable(saved.refresh_token)  # 0 tokens lost

    def test_async_tasks_share_one_refresh(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        store = authorized(authority, clock)
        source = tokens(authority, store, lock, clock)
        clock.advance(ACCESS_S)

        async def main() -> list[Secret]:
            return await asyncio.gather(*(source.atoken() for _ in range(8)))

        got = asyncio.run(main())
        assert len(set(got)) == 1
        assert authority.refreshes() == 1

    def test_invalidate_refreshes_once(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        store = authorized(authority, clock)
        source = tokens(authority, store, lock, clock)
        stale = source.token()
        source.invalidate(stale)
        source.invalidate("not a secret")
        fresh = source.token()
        assert fresh != stale
        source.invalidate(stale)  # a late answer for the old token: no second refresh
        assert source.token() == fresh
        assert authority.refreshes() == 1

    def test_save_failure_offers_the_same_pair_again(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        """save raising: TokenRefreshError; the next call saves the kept pair, no refresh."""
        store = SpyStore(authority.authorize(clock.time()))
        source = tokens(authority, store, lock, clock)
        clock.advance(ACCESS_S)
        store.fail = 2
        for _ in range(2):
            with pytest.raises(TokenRefreshError, match="saving them in the token store"):
                source.token()
        assert authority.refreshes() == 1
        token = source.token()
        assert authority.refreshes() == 1
        saved = store.load(KEY)
        assert saved is not None
        assert saved.access_token == token
        assert authority.usable(saved.refresh_token)
        assert lock.marker(KEY) is None

    def test_crash_between_refresh_and_save_needs_reauthorization(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        """The answer of a spent token is lost: ReauthorizationRequired, never a loop."""
        store = authorized(authority, clock)
        clock.advance(ACCESS_S)

        def crashing(token: Secret) -> TokenGrant:
            authority.refresh(token, clock.time())
            raise Crash

        dying = RotatingTokens(KEY, store, crashing, lock=lock, clock=clock, shop="600000")
        with pytest.raises(Crash):
            dying.token()
        assert authority.refreshes() == 1
        for source in (dying, tokens(authority, store, lock, clock)):  # any process
            for _ in range(3):
                with pytest.raises(ReauthorizationRequired) as caught:
                    source.token()
                assert caught.value.shop == "600000"
        assert caught.value.authorization_url == URL
        assert isinstance(caught.value, MarketplaceAuthError)
        assert authority.refreshes() == 1  # the spent token was never sent again
        # the shop is authorised again: calls work at once
        store.save(KEY, authority.authorize(clock.time()))
        source = tokens(authority, store, lock, clock)
        assert authority.valid(source.token(), clock.time())

    def test_lost_answer_needs_reauthorization(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        store = authorized(authority, clock)
        clock.advance(ACCESS_S)
        sent = []

        def lost(token: Secret) -> TokenGrant:
            sent.append(token)
            authority.refresh(token, clock.time())
            msg = "no answer within 30 s"
            raise MarketplaceTimeoutError(msg, marketplace="shopee")

        source = RotatingTokens(KEY, store, lost, lock=lock, clock=clock, shop="600000")
        for _ in range(3):
            with pytest.raises(ReauthorizationRequired):
                source.token()
        assert len(sent) == 1

    @pytest.mark.parametrize(
        "error",
        [
            httpx.ReadTimeout("read"),
            MarketplaceTransportError("reset", marketplace="shopee"),
            AuthError("refused", marketplace="shopee", status=403),
            ValueError("a bug reading the answer"),
        ],
    )
    def test_failures_that_may_have_spent_the_token(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock, error: Exception
    ) -> None:
        store = authorized(authority, clock)
        clock.advance(ACCESS_S)
        calls = []

        def failing(token: Secret) -> TokenGrant:
            calls.append(token)
            raise error

        source = RotatingTokens(KEY, store, failing, lock=lock, clock=clock)
        for _ in range(2):
            with pytest.raises(ReauthorizationRequired):
                source.token()
        assert len(calls) == 1

    @pytest.mark.parametrize(
        "error",
        [
            httpx.ConnectError("refused"),
            TokenRefreshError("could not reach Shopee; nothing was sent", marketplace="shopee"),
            InvalidArgumentError("bad"),
        ],
    )
    def test_failures_that_spent_nothing_may_be_retried(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock, error: Exception
    ) -> None:
        store = authorized(authority, clock)
        clock.advance(ACCESS_S)
        fail = [error]

        def flaky(token: Secret) -> TokenGrant:
            if fail:
                raise fail.pop()
            return authority.refresh(token, clock.time())

        source = RotatingTokens(KEY, store, flaky, lock=lock, clock=clock)
        with pytest.raises(TokenRefreshError) as caught:
            source.token()
        assert not isinstance(caught.value, ReauthorizationRequired)
        assert lock.marker(KEY) is None
        assert authority.valid(source.token(), clock.time())
        assert authority.refreshes() == 1

    def test_a_replayed_token_is_refused_once(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        """The store holds a token already used elsewhere: one refusal, then no more sends."""
        pair = authority.authorize(clock.time())
        authority.refresh(pair.refresh_token, clock.time())  # spent by someone else
        store = MemoryTokenStore({KEY: pair})
        clock.advance(ACCESS_S)
        source = tokens(authority, store, lock, clock)
        sent = source.refreshes
        for _ in range(3):
            with pytest.raises(ReauthorizationRequired):
                source.token()
        assert source.refreshes == sent + 1

    @pytest.mark.parametrize("grant", [None, "token", "no-refresh"])
    def test_an_answer_without_a_new_refresh_token(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock, grant: Any
    ) -> None:
        store = authorized(authority, clock)
        clock.advance(ACCESS_S)
        if grant == "no-refresh":
            grant = TokenGrant(Secret("access-only"), ACCESS_S)
        source = RotatingTokens(KEY, store, lambda _: grant, lock=lock, clock=clock)
        for _ in range(2):
            with pytest.raises(ReauthorizationRequired):
                source.token()
        assert source.refreshes == 1

    def test_nothing_stored_or_expired_refresh(
        self, authority: Authority, lock: RefreshLock, clock: FakeClock
    ) -> None:
        source = tokens(authority, MemoryTokenStore(), lock, clock)
        with pytest.raises(ReauthorizationRequired, match="no token pair is stored"):
            source.token()
        store = authorized(authority, clock)
        clock.advance(31 * 86400)
        with pytest.raises(ReauthorizationRequired, match="expired"):
            tokens(authority, store, lock, clock).token()
        assert authority.refreshes() == 0

    def test_bad_arguments(self, lock: RefreshLock, clock: FakeClock) -> None:
        store = MemoryTokenStore()
        with pytest.raises(InvalidArgumentError):
            RotatingTokens("", store, lambda _: None, lock=lock)  # type: ignore[arg-type, return-value]
        with pytest.raises(InvalidArgumentError):
            RotatingTokens(KEY, object(), lambda _: None, lock=lock)  # type: ignore[arg-type, return-value]
        with pytest.raises(InvalidArgumentError):
            RotatingTokens(KEY, store, lambda _: None, lock=object())  # type: ignore[arg-type, return-value]
        with pytest.raises(InvalidArgumentError):
            RotatingTokens(KEY, store, "f", lock=lock)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            RotatingTokens(KEY, store, lambda _: None, lock=lock, skew=-1)  # type: ignore[arg-type, return-value]
        del clock


class TestNoSecretsLeak:
    def test_secrets_stay_out_of_our_store_reprs_logs_and_errors(
        self,
        authority: Authority,
        store: sr.Store,
        clock: FakeClock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        lock = StoreRefreshLock(store)
        tokens_store = SpyStore(authority.authorize(clock.time()))
        source = tokens(authority, tokens_store, lock, clock)
        texts = [repr(source), repr(lock), repr(tokens_store)]
        clock.advance(ACCESS_S)
        tokens_store.fail = 1
        with pytest.raises(TokenRefreshError) as failed:
            source.token()
        texts += [str(failed.value), repr(failed.value), repr(source)]
        source.token()

        def crashing(token: Secret) -> TokenGrant:
            authority.refresh(token, clock.time())
            raise Crash

        clock.advance(ACCESS_S)
        with pytest.raises(Crash):
            RotatingTokens(KEY, tokens_store, crashing, lock=lock, clock=clock).token()
        with pytest.raises(ReauthorizationRequired) as caught:
            source.token()
        texts += [str(caught.value), repr(caught.value), repr(source), caplog.text]
        table = store.tables.refresh_lock
        with store.engine.connect() as conn:
            rows = [str(tuple(row)) for row in conn.execute(select(table))]
        assert rows
        texts += rows
        secrets = authority.secrets()
        assert len(secrets) >= 6
        for shown in texts:
            for secret in secrets:
                assert secret not in shown


# -- processes ----------------------------------------------------------------------------------


def _process_worker(  # noqa: PLR0917 - a spawned process's target takes positionals
    url: str,
    schema: str | None,
    folder: str,
    cycles: int,
    barrier: Any,
    out: Any,
) -> None:
    """One worker process: at each of ``cycles`` expiries, get a token and check it."""
    store = sr.connect(url, schema=schema)
    authority = Authority(Path(folder) / "authority.db")
    clock = FakeClock(T0)
    source = tokens(
        authority, FileTokenStore(Path(folder) / "tokens.json"), StoreRefreshLock(store), clock
    )
    barrier.wait()
    bad = 0
    for cycle in range(cycles):
        clock.advance(T0 + cycle * ACCESS_S - clock.time())
        if not authority.valid(source.token(), clock.time()):
            bad += 1
    out.put((bad, source.refreshes))
    store.close()


def _crash_worker(url: str, schema: str | None, folder: str, start: float) -> None:
    """Refresh, then die before saving (``os._exit``): no cleanup runs at all."""
    store = sr.connect(url, schema=schema)
    authority = Authority(Path(folder) / "authority.db")
    clock = FakeClock(start)

    def crashing(token: Secret) -> TokenGrant:
        authority.refresh(token, clock.time())
        os._exit(3)

    source = RotatingTokens(
        KEY,
        FileTokenStore(Path(folder) / "tokens.json"),
        crashing,
        lock=StoreRefreshLock(store),
        clock=clock,
    )
    source.token()


def _reauth_worker(url: str, schema: str | None, folder: str, start: float, out: Any) -> None:
    """After a crash: every call must raise ReauthorizationRequired without refreshing."""
    store = sr.connect(url, schema=schema)
    authority = Authority(Path(folder) / "authority.db")
    clock = FakeClock(start)
    source = tokens(
        authority, FileTokenStore(Path(folder) / "tokens.json"), StoreRefreshLock(store), clock
    )
    outcomes = []
    for _ in range(3):
        try:
            source.token()
            outcomes.append("token")
        except ReauthorizationRequired:  # noqa: PERF203 - each call is the point
            outcomes.append("reauthorize")
    out.put((outcomes, source.refreshes))
    store.close()


class TestProcesses:
    def test_four_processes_share_one_shop(
        self, backend: Backend, store: sr.Store, tmp_path: Path
    ) -> None:
        """4 spawned processes x 12 expiries: exactly one refresh each, 0 tokens lost."""
        del store  # created and upgraded for the workers
        authority = Authority(tmp_path / "authority.db")
        FileTokenStore(tmp_path / "tokens.json").save(KEY, authority.authorize(T0 - ACCESS_S))
        ctx = multiprocessing.get_context("spawn")
        barrier, out, cycles = ctx.Barrier(4), ctx.Queue(), 12
        args = (backend.url, backend.schema, str(tmp_path), cycles, barrier, out)
        procs = [ctx.Process(target=_process_worker, args=args) for _ in range(4)]
        for p in procs:
            p.start()
        results = [out.get(timeout=300) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert [p.exitcode for p in procs] == [0] * 4
        assert sum(bad for bad, _ in results) == 0
        assert sum(sent for _, sent in results) == cycles
        assert authority.refreshes() == cycles
        saved = FileTokenStore(tmp_path / "tokens.json").load(KEY)
        assert saved is not None
        assert authority.usable(saved.refresh_token)

    def test_a_crashed_process_leaves_reauthorization_not_a_loop(
        self, backend: Backend, store: sr.Store, tmp_path: Path
    ) -> None:
        """A process dies between refresh and save; 3 others (past its lease) never refresh."""
        del store
        authority = Authority(tmp_path / "authority.db")
        FileTokenStore(tmp_path / "tokens.json").save(KEY, authority.authorize(T0 - ACCESS_S))
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        crash = ctx.Process(
            target=_crash_worker, args=(backend.url, backend.schema, str(tmp_path), T0)
        )
        crash.start()
        crash.join(timeout=300)
        assert crash.exitcode == 3
        assert authority.refreshes() == 1
        later = T0 + 61  # the dead process's lock lease has run out
        args = (backend.url, backend.schema, str(tmp_path), later, out)
        procs = [ctx.Process(target=_reauth_worker, args=args) for _ in range(3)]
        for p in procs:
            p.start()
        results = [out.get(timeout=300) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert [p.exitcode for p in procs] == [0] * 3
        assert results == [(["reauthorize"] * 3, 0)] * 3
        assert authority.refreshes() == 1
