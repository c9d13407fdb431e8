"""AWS clients that fail in seconds, and AWS failures as user errors instead of tracebacks.

Only engine.deploy imports boto3, and the CLI imports it lazily, so `validate` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
    TokenRetrievalError,
)

from engine.errors import EngineError

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
ATTEMPTS = 3  # total, including the first try

CREDENTIALS_HINT = (
    "Configure AWS credentials: set AWS_PROFILE (see `aws configure list-profiles`; for SSO run "
    "`aws sso login`), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
)


def aws_client(
    service: str,
    region: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    attempts: int = ATTEMPTS,
) -> Any:
    """A boto3 client for ``service`` in ``region`` that fails fast.

    Short timeouts and few retries: the bootstrap makes a handful of small calls, so a wrong
    endpoint should fail in seconds, not after botocore's default minute of retries. boto3
    honours ``AWS_ENDPOINT_URL`` on its own (the tests point it at moto).

    Clients are untyped (``Any``): the engine calls a dozen operations and checks their error
    codes explicitly, and the tests run every call against moto over real HTTP.
    """
    config = Config(
        region_name=region,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": attempts, "mode": "standard"},
    )
    with aws_errors(f"creating the {service} client"):
        try:
            session: Any = boto3.session.Session()
            return session.client(service, config=config)
        except BotoCoreError as exc:  # ProfileNotFound, bad config file, invalid region...
            raise EngineError(f"cannot set up the AWS {service} client: {exc}", hint=CREDENTIALS_HINT) from None


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: Exception) -> int:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return 0
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Turn botocore's failures into EngineErrors that say what the engine was doing.

    Callers handle the error codes they expect (a missing bucket, an empty secret) inside this
    block; whatever reaches it is a failure the user has to fix.
    """
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError, TokenRetrievalError) as exc:
        raise EngineError(f"no usable AWS credentials while {doing}: {exc}", hint=CREDENTIALS_HINT) from None
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        raise EngineError(
            f"cannot reach AWS while {doing}: {exc}",
            hint="Check the network, proxy settings, the region, and AWS_ENDPOINT_URL if it is set.",
        ) from None
    except ReadTimeoutError as exc:
        raise EngineError(f"AWS did not answer in time while {doing}: {exc}",
                          hint="Retry; if it persists, check the network and proxy settings.") from None
    except NoRegionError:
        raise EngineError(f"no AWS region while {doing}", hint="Set project.region or state.region.") from None
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        hint = None
        if code in {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
                    "SignatureDoesNotMatch", "InvalidAccessKeyId"}:
            hint = CREDENTIALS_HINT
        elif code in {"AccessDenied", "AccessDeniedException", "403"}:
            hint = "The AWS identity in use lacks a permission for this step; see `aws sts get-caller-identity`."
        raise EngineError(f"AWS refused {doing}: {code or http_status(exc)} {message}".rstrip(), hint=hint) from None
