"""`storage`: the S3 bucket behind the Storage API. Private, KMS-encrypted, versioned, TLS only."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field

from engine.config.model.base import Section, invalid, pattern_error

_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_BUCKET_WHAT = "a valid S3 bucket name"
_BUCKET_HINT = "3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"


def bucket_name_problem(value: str) -> tuple[str, str] | None:
    """Why `value` is not a usable S3 bucket name, with a fix; None when it is fine."""
    if "." in value:
        return (f"{value!r} contains dots, which break TLS for virtual-hosted bucket addresses",
                "use hyphens instead of dots")
    if not _BUCKET.fullmatch(value):
        return f"{value!r} is not {_BUCKET_WHAT}", _BUCKET_HINT
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:  # pragma: no cover - dots are refused above
        return f"{value!r} looks like an IP address", "choose a name"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if value.startswith(prefix):
            return f"S3 reserves the prefix {prefix!r}", "choose another name"
    for suffix in ("-s3alias", "--ol-s3", "--x-s3", "--table-s3"):
        if value.endswith(suffix):
            return f"S3 reserves the suffix {suffix!r}", "choose another name"
    return None


def _bucket_name(value: str) -> str:
    problem = bucket_name_problem(value)
    if problem:
        raise invalid(*problem)
    return value


BucketName = Annotated[str, Field(json_schema_extra={"pattern": f"^{_BUCKET.pattern}$",
                                                     "patternErrorMessage": pattern_error(_BUCKET_WHAT, _BUCKET_HINT)}),
                       AfterValidator(_bucket_name)]


class Storage(Section):
    bucket_name: BucketName | None = Field(
        None, description="S3 bucket for stored objects; derived from project and environment when omitted.",
        examples=["acme-prod-storage"],
    )
    upload_size_limit_mb: int = Field(
        50, ge=1, le=5120, description="Largest upload the Storage API accepts, in MB.", examples=[100],
    )
    noncurrent_version_expiry_days: int = Field(
        30, ge=1, le=3650, description="Days to keep overwritten or deleted object versions.", examples=[90],
    )
