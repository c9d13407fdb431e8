"""The functional checks of `supa-engine verify`: each service answers and does its job.

Every check is a function of the :class:`Context` that returns what it saw or raises
CheckFailed; whatever it creates (a row, a user, a bucket) it removes again, failure or not.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import SplitResult

from engine.deploy.verify_http import CheckFailed, CheckSkipped, Deadline, Response, Target, phoenix_broadcast

T = TypeVar("T")
FIXTURE_TABLE = "supa_engine_verify"  # created by engine/deploy/sql/0009_verify_fixture.sql
RETRY_PAUSES = (1.0, 2.0, 4.0, 8.0)  # then 8 s until the check's deadline


@dataclass(frozen=True)
class DatabaseEndpoint:
    address: str | None
    publicly_accessible: bool


@dataclass
class Context:
    """What the checks know about the environment; ``deadline`` and ``waits`` are per check."""

    target: Target
    anon_key: str
    service_key: str
    enabled: frozenset[str]
    signup_enabled: bool
    email_autoconfirm: bool
    studio_cidrs: tuple[str, ...]
    http_url: SplitResult
    email_domain: str
    database: Callable[[], DatabaseEndpoint]
    resolve_host: Callable[[str], list[str]]
    sleep: Callable[[float], None] = time.sleep
    deadline: Deadline = field(default_factory=lambda: Deadline(30.0))
    waits: list[str] = field(default_factory=list)
    redact: list[str] = field(default_factory=list)  # values made during the run (passwords, tokens)

    def call(self, method: str, path: str, **kwargs: Any) -> Response:
        return self.target.request(self.deadline, method, path, **kwargs)

    def needs(self, component: str) -> None:
        if component not in self.enabled:
            raise CheckSkipped(f"{component} is not enabled in this config")

    def eventually(self, what: str, attempt: Callable[[], T | None]) -> T:
        """Retry ``attempt`` (None = not yet) until the deadline; the waits are reported."""
        waited, retrying = 0.0, False
        try:
            for pause in (*RETRY_PAUSES, *([RETRY_PAUSES[-1]] * 1000)):
                result = attempt()
                if result is not None:
                    if waited:
                        self.waits.append(f"waited {waited:.0f}s for {what}")
                    return result
                retrying = True
                slept = min(pause, self.deadline.remaining())
                self.sleep(slept)
                waited += slept
        except CheckFailed:
            if retrying and self.deadline.expired():  # say what never came
                raise CheckFailed(f"timed out after {self.deadline.seconds:g}s waiting for {what}") from None
            raise
        raise CheckFailed(f"gave up waiting for {what}")  # unreachable: the deadline ends the loop first


def expect(response: Response, *statuses: int, doing: str) -> Response:
    if response.status not in statuses:
        raise CheckFailed(f"{doing}: {response.describe()}")
    return response


def nonce() -> str:
    return secrets.token_hex(6)


# --- health of each service ------------------------------------------------------------------------


def auth_health(ctx: Context) -> str:
    ctx.needs("auth")
    body = expect(ctx.call("GET", "/auth/v1/health", key=ctx.anon_key), 200, doing="GET /auth/v1/health").json()
    if not isinstance(body, dict) or not body.get("version"):
        raise CheckFailed(f"GET /auth/v1/health: no version in {str(body)[:80]!r}")
    return f"auth {body['version']} is healthy"


def rest_root(ctx: Context) -> str:
    ctx.needs("rest")
    body = expect(ctx.call("GET", "/rest/v1/", key=ctx.anon_key), 200, doing="GET /rest/v1/").json()
    if not isinstance(body, dict) or "swagger" not in body:
        raise CheckFailed("GET /rest/v1/: not PostgREST's OpenAPI description")
    return "PostgREST serves its OpenAPI description"


def storage_status(ctx: Context) -> str:
    ctx.needs("storage")
    expect(ctx.call("GET", "/storage/v1/status"), 200, doing="GET /storage/v1/status")
    return "storage answers its status route"


def functions(ctx: Context) -> str:
    ctx.needs("functions")
    response = ctx.call("GET", "/functions/v1/supa-engine-verify", key=ctx.anon_key)
    # Any answer of the edge runtime will do (its main service says 404 until functions are
    # deployed); kong's own 404 or a 5xx means the route or the runtime is broken.
    if response.status >= 500 or b"no Route matched" in response.body:
        raise CheckFailed(f"GET /functions/v1/: {response.describe()}")
    return f"the edge runtime answers (HTTP {response.status})"


# --- REST create, read, update, delete ------------------------------------------------------------


def rest_crud(ctx: Context) -> str:
    ctx.needs("rest")
    path = f"/rest/v1/{FIXTURE_TABLE}"
    first, second = f"verify-{nonce()}", f"verify-{nonce()}"
    represent = {"Prefer": "return=representation"}

    def insert() -> Response | None:
        response = ctx.call("POST", path, key=ctx.service_key, body={"note": first}, headers=represent)
        # PGRST205: the table is not in PostgREST's schema cache yet (reloads follow DDL).
        return None if response.status == 404 and b"PGRST205" in response.body else response

    created = expect(ctx.eventually("PostgREST's schema cache to list the fixture table", insert), 201,
                     doing=f"POST {path} (is 0009_verify_fixture.sql applied?)").json()
    row_id = _single_row(created, "note", first, "insert")["id"]
    where = f"{path}?id=eq.{row_id}"
    deleted = False
    try:
        read = expect(ctx.call("GET", f"{where}&select=id,note", key=ctx.service_key), 200, doing="read").json()
        _single_row(read, "note", first, "read")
        updated = expect(ctx.call("PATCH", where, key=ctx.service_key, body={"note": second}, headers=represent),
                         200, doing="update").json()
        _single_row(updated, "note", second, "update")
        anon = ctx.call("GET", where, key=ctx.anon_key)
        if anon.status not in (401, 403):
            raise CheckFailed(f"anon can read the fixture table: {anon.describe()}")
        _single_row(expect(ctx.call("DELETE", where, key=ctx.service_key, headers=represent), 200,
                           doing="delete").json(), "note", second, "delete")
        deleted = True
        gone = expect(ctx.call("GET", where, key=ctx.service_key), 200, doing="read after delete").json()
        if gone != []:
            raise CheckFailed(f"the row is still there after delete: {str(gone)[:80]}")
    finally:
        if not deleted:
            _quietly(lambda: ctx.call("DELETE", where, key=ctx.service_key))
    return f"created, read, updated and deleted row {row_id} of {FIXTURE_TABLE}; anon refused"


def _single_row(body: Any, column: str, value: str, step: str) -> dict[str, Any]:
    if not (isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict)
            and body[0].get(column) == value):
        raise CheckFailed(f"{step}: expected one row with {column}={value!r}, got {str(body)[:100]!r}")
    return body[0]


def _quietly(action: Callable[[], object]) -> None:
    """Best-effort clean-up: the check's own failure is the one worth reporting."""
    with suppress(CheckFailed):
        action()


# --- auth users -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password: str


@contextmanager
def temporary_user(ctx: Context, *, via_signup: bool) -> Iterator[User]:
    """A confirmed user that exists for the block only (deleted through the admin API)."""
    email = f"supa-engine-verify-{nonce()}@{ctx.email_domain}"
    password = secrets.token_urlsafe(18)
    ctx.redact.append(password)
    if via_signup:
        body = expect(ctx.call("POST", "/auth/v1/signup", key=ctx.anon_key,
                               body={"email": email, "password": password}), 200, doing="sign up").json()
        user = body.get("user", body) if isinstance(body, dict) else None
    else:
        user = expect(ctx.call("POST", "/auth/v1/admin/users", key=ctx.service_key,
                               body={"email": email, "password": password, "email_confirm": True}),
                      200, 201, doing="create a user through the admin API").json()
    if not isinstance(user, dict) or not user.get("id"):
        raise CheckFailed(f"creating a user returned no user id: {str(user)[:80]!r}")
    made = User(str(user["id"]), email, password)
    try:
        yield made
    finally:
        expect(ctx.call("DELETE", f"/auth/v1/admin/users/{made.id}", key=ctx.service_key), 200, 204,
               doing="delete the user")


def sign_in(ctx: Context, user: User) -> str:
    body = expect(ctx.call("POST", "/auth/v1/token?grant_type=password", key=ctx.anon_key,
                           body={"email": user.email, "password": user.password}), 200, doing="sign in").json()
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or (body.get("user") or {}).get("id") != user.id:
        raise CheckFailed("sign in: no access token for the new user")
    ctx.redact.append(token)
    return token


def auth_users(ctx: Context) -> str:
    ctx.needs("auth")
    via_signup = ctx.email_autoconfirm and ctx.signup_enabled
    with temporary_user(ctx, via_signup=via_signup) as user:
        found = False
        for page in range(1, 51):
            listed = expect(ctx.call("GET", f"/auth/v1/admin/users?page={page}&per_page=200", key=ctx.service_key),
                            200, doing="list users").json()
            users = listed.get("users", []) if isinstance(listed, dict) else []
            found = any(u.get("id") == user.id for u in users)
            if found or not users:
                break
        if not found:
            raise CheckFailed("the new user is not in the admin API's user list")
        sign_in(ctx, user)
    how = "signed up" if via_signup else "created through the admin API"
    return f"{how}, listed, signed in and deleted a user"


# --- realtime -----------------------------------------------------------------------------------------


def realtime_broadcast(ctx: Context) -> str:
    ctx.needs("realtime")

    def attempt() -> str | None:
        try:
            return phoenix_broadcast(ctx.target, ctx.deadline, ctx.anon_key, f"supa-engine-verify-{nonce()}", nonce())
        except CheckFailed as exc:
            # Right after an install the tenant Job may not have run yet: realtime refuses the join.
            if "Tenant not found" in str(exc) or "TenantNotFound" in str(exc):
                return None
            raise

    return ctx.eventually("realtime's tenant", attempt)
