"""The storage check of `supa-engine verify`: a private bucket as its users and strangers meet it.

A signed-in user may read an object only where a storage policy allows it, and verify has no SQL
route: the bootstrap's 0010_verify_storage_policies.sql gives service_role a function, called here
through PostgREST, that makes two narrow policies (own objects in supa-engine-verify-* buckets).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from urllib.parse import quote

from engine.deploy.verify_checks import Context, expect, nonce, sign_in, temporary_user
from engine.deploy.verify_http import CheckFailed, Response

#: Made by engine/deploy/sql/0010_verify_storage_policies.sql; the policies match this prefix.
POLICIES_FUNCTION = "supa_engine_verify_policies"
BUCKET_PREFIX = "supa-engine-verify-"
OBJECT_NAME = "verify.txt"


def storage_objects(ctx: Context) -> str:
    ctx.needs("storage")
    # Without auth there are no user tokens; without PostgREST no way to make the policies.
    as_user = {"auth", "rest"} <= ctx.enabled
    content = f"supa-engine verify {nonce()}\n".encode()
    with ExitStack() as stack:
        owner = stranger = None
        made: list[str] = []
        if as_user:
            made = ensure_policies(ctx)
            owner = sign_in(ctx, stack.enter_context(temporary_user(ctx, via_signup=False)))
            stranger = sign_in(ctx, stack.enter_context(temporary_user(ctx, via_signup=False)))
        with private_bucket(ctx) as bucket:
            round_trip(ctx, bucket, content, owner, stranger)
    if as_user:
        return ("private bucket: a user uploaded and downloaded their object, the service key listed and "
                "downloaded it; anon, the public URL and another user refused"
                + (f" (made storage policies {', '.join(made)})" if made else ""))
    missing = " and ".join(c for c in ("auth", "rest") if c not in ctx.enabled)
    return (f"private bucket: uploaded, listed, downloaded with the service key; anon and the public URL "
            f"refused (no user token checked: {missing} not enabled)")


def round_trip(ctx: Context, bucket: str, content: bytes, owner: str | None, stranger: str | None) -> None:
    """Upload (as ``owner``'s token if given), list, download, the refusals, delete."""
    path = f"{bucket}/{quote(OBJECT_NAME)}"
    # The user uploads: storage-api records the token's sub as owner_id. A service-key upload has
    # no owner, so no owner-scoped policy could let a user read it back.
    who = {"key": ctx.anon_key, "token": owner} if owner else {"key": ctx.service_key}
    expect(ctx.call("POST", f"/storage/v1/object/{path}", body=content, headers={"Content-Type": "text/plain"}, **who),
           200, doing="upload with the user's token" if owner else "upload")
    listed = expect(ctx.call("POST", f"/storage/v1/object/list/{bucket}", key=ctx.service_key,
                             body={"prefix": "", "limit": 100}), 200, doing="list").json()
    names = [o.get("name") for o in listed if isinstance(o, dict)] if isinstance(listed, list) else []
    if OBJECT_NAME not in names:
        raise CheckFailed(f"list: {OBJECT_NAME} is not in the bucket listing")
    if owner:
        _same(ctx.call("GET", f"/storage/v1/object/authenticated/{path}", key=ctx.anon_key, token=owner), content,
              "download with the user's token")
    _same(ctx.call("GET", f"/storage/v1/object/{path}", key=ctx.service_key), content, "download with the service key")
    _refused(ctx.call("GET", f"/storage/v1/object/{path}", key=ctx.anon_key), content, "anon")
    _refused(ctx.call("GET", f"/storage/v1/object/public/{path}"), content, "a public URL")
    if stranger:
        _refused(ctx.call("GET", f"/storage/v1/object/authenticated/{path}", key=ctx.anon_key, token=stranger),
                 content, "another user's token")
    expect(ctx.call("DELETE", f"/storage/v1/object/{bucket}", key=ctx.service_key, body={"prefixes": [OBJECT_NAME]}),
           200, doing="delete the object")


def ensure_policies(ctx: Context) -> list[str]:
    """Have the bootstrap's function make the owner-scoped policies (a no-op once they exist)."""
    path = f"/rest/v1/rpc/{POLICIES_FUNCTION}"

    def call() -> Response | None:
        response = ctx.call("POST", path, key=ctx.service_key, body={}, headers={"Content-Profile": "storage"})
        # PGRST202: the function is not in PostgREST's schema cache yet (reloads follow DDL).
        return None if response.status == 404 and b"PGRST202" in response.body else response

    made = expect(ctx.eventually(f"PostgREST's schema cache to list storage.{POLICIES_FUNCTION}", call), 200,
                  doing=f"storage policies: POST {path} (is 0010_verify_storage_policies.sql applied?)").json()
    if not isinstance(made, list) or not all(isinstance(name, str) for name in made):
        raise CheckFailed(f"storage policies: expected a list of policy names, got {str(made)[:80]!r}")
    return made


@contextmanager
def private_bucket(ctx: Context) -> Iterator[str]:
    """A private bucket under verify's prefix, gone afterwards with its object, failure or not."""
    bucket = f"{BUCKET_PREFIX}{nonce()}"
    expect(ctx.call("POST", "/storage/v1/bucket", key=ctx.service_key,
                    body={"id": bucket, "name": bucket, "public": False}), 200, doing="create a private bucket")
    try:
        yield bucket
    finally:
        with suppress(CheckFailed):  # best effort: the check's own failure is the one worth reporting
            ctx.call("DELETE", f"/storage/v1/object/{bucket}", key=ctx.service_key, body={"prefixes": [OBJECT_NAME]})
        expect(ctx.call("DELETE", f"/storage/v1/bucket/{bucket}", key=ctx.service_key), 200, doing="delete the bucket")


def _same(response: Response, content: bytes, doing: str) -> None:
    expect(response, 200, doing=doing)
    if response.body != content:
        raise CheckFailed(f"{doing} returned other bytes than were uploaded")


def _refused(response: Response, content: bytes, who: str) -> None:
    if response.status < 400 or response.body == content:
        raise CheckFailed(f"{who} can read an object of a private bucket: HTTP {response.status}")
