"""Building blocks shared by the config sections: the strict base model and checked string types."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

if TYPE_CHECKING:  # importing pydantic.json_schema costs the editor-save path ~7 ms
    from pydantic.json_schema import JsonSchemaValue


class Section(BaseModel):
    """Every config section: unknown keys are errors, values are immutable, no type coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def invalid(message: str, hint: str | None = None) -> PydanticCustomError:
    """A validation error whose message is shown as written, with an optional fix."""
    return PydanticCustomError("invalid", "{message}", {"message": message, "hint": hint})


def pattern_error(what: str, hint: str) -> str:
    """The readable text for a value that misses a pattern: the schema's `patternErrorMessage`
    (editors show it instead of the regular expression) and, split again, validate's message."""
    return f"Not {what}: {hint}"


def split_pattern_error(text: str) -> tuple[str, str]:
    """`pattern_error`'s parts again: what the value is not, and the fix."""
    what, _, hint = text.removeprefix("Not ").partition(": ")
    return what, hint


@dataclass(frozen=True)
class Pattern:
    """Annotation for a string that must match `regex`; the error names `what` and the fix.

    The regex is also published in the JSON Schema so editors flag the value as it is typed.
    """

    regex: str
    what: str
    hint: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        compiled = re.compile(self.regex)

        def check(value: str) -> str:
            if not compiled.fullmatch(value):
                raise invalid(f"{value!r} is not {self.what}", self.hint)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        published = handler(schema)
        published["pattern"] = f"^(?:{self.regex})$"
        published["patternErrorMessage"] = pattern_error(self.what, self.hint)
        return published


DnsLabel = Annotated[str, Pattern(
    r"[a-z]([a-z0-9-]*[a-z0-9])?",
    "a DNS label",
    "use lowercase letters, digits and hyphens, starting with a letter",
)]
Hostname = Annotated[str, Pattern(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    "a DNS host name",
    "write a fully qualified lowercase name such as api.example.com",
)]
AccountId = Annotated[str, Pattern(r"[0-9]{12}", "an AWS account ID", "12 digits in quotes, such as '123456789012'")]
AwsRegion = Annotated[str, Pattern(
    r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]",
    "an AWS region",
    "for example eu-west-1 or us-east-1",
)]
IamPrincipalArn = Annotated[str, Pattern(
    r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}",
    "an IAM role or user ARN",
    "for example arn:aws:iam::123456789012:role/platform-admins",
)]
CPU_PATTERN = r"[0-9]+(\.[0-9]+)?m?"
MEMORY_PATTERN = r"[0-9]+(Ki|Mi|Gi|Ti)"
K8sQuantityCpu = Annotated[str, Pattern(
    CPU_PATTERN,
    "a CPU quantity",
    "for example 250m or 1",
)]
K8sQuantityMemory = Annotated[str, Pattern(
    MEMORY_PATTERN,
    "a memory quantity",
    "use binary units, for example 256Mi or 2Gi",
)]
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"
HTTPS_PATTERN = r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s]*)?"
Email = Annotated[str, Pattern(
    EMAIL_PATTERN,
    "an email address",
    "for example ops@example.com",
)]
HttpsUrl = Annotated[str, Pattern(
    HTTPS_PATTERN,
    "an https:// URL",
    "only TLS endpoints are accepted",
)]


def _ipv4_network(value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        try:
            network = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            raise invalid(f"{value!r} is not {_CIDR_WHAT}", _CIDR_HINT) from None
        raise invalid(f"{value!r} has host bits set", f"did you mean {network}?") from None


def _cidr(value: str) -> str:
    return str(_ipv4_network(value))


# Ranges that are never a real client or a real private network: loopback, link-local (instance
# metadata lives there), carrier-grade NAT (shared by many customers of one carrier), "this network".
SPECIAL_BLOCKS = tuple(ipaddress.IPv4Network(b) for b in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10", "224.0.0.0/4", "240.0.0.0/4",
))


def _special_range(network: ipaddress.IPv4Network) -> ipaddress.IPv4Network | None:
    """The special block `network` lies in (or covers only part of), or None; 0.0.0.0/0 is not special."""
    if network.prefixlen == 0:
        return None
    return next((block for block in SPECIAL_BLOCKS if network.overlaps(block)), None)


def _ingress_cidr(value: str) -> str:
    network = _ipv4_network(value)
    block = _special_range(network)
    if block is not None:
        raise invalid(f"{value} overlaps {block}, a loopback, link-local, carrier-grade NAT or reserved range "
                      "that no client of the load balancer comes from",
                      "list the public or VPC ranges clients really use, or 0.0.0.0/0 for a public API")
    return str(network)


def _private_cidr(value: str) -> str:
    network = _ipv4_network(value)
    if not any(network.subnet_of(block) for block in PRIVATE_BLOCKS):
        raise invalid(f"{value} is not in a private range",
                      "use a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    return str(network)


OPERATOR_MIN_PREFIX = 16


def _operator_cidr(value: str) -> str:
    """A source allowed to reach an operator-only endpoint: a specific public range, never the world."""
    network = _ipv4_network(value)
    if network.prefixlen < OPERATOR_MIN_PREFIX:
        raise invalid(f"{value} is too broad for an operator allowlist (wider than /{OPERATOR_MIN_PREFIX})",
                      "list the specific office or VPN egress ranges, for example 203.0.113.0/24")
    if any(network.subnet_of(block) for block in PRIVATE_BLOCKS):
        raise invalid(f"{value} is a private range; private clients already use the private endpoint",
                      "list public egress ranges only")
    block = _special_range(network)
    if block is not None:
        raise invalid(f"{value} overlaps {block}, a loopback, link-local, carrier-grade NAT or reserved range, "
                      "not an operator's public egress", "list public egress ranges only, for example 203.0.113.0/24")
    return str(network)


PRIVATE_BLOCKS = tuple(ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
CIDR_PATTERN = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$"
_CIDR_WHAT, _CIDR_HINT = "an IPv4 CIDR block", "write it as a.b.c.d/prefix"
_CIDR_SCHEMA = Field(json_schema_extra={"pattern": CIDR_PATTERN,
                                        "patternErrorMessage": pattern_error(_CIDR_WHAT, _CIDR_HINT)})

Cidr = Annotated[str, _CIDR_SCHEMA, AfterValidator(_cidr)]
PrivateCidr = Annotated[str, _CIDR_SCHEMA, AfterValidator(_private_cidr)]
OperatorCidr = Annotated[str, _CIDR_SCHEMA, AfterValidator(_operator_cidr)]
IngressCidr = Annotated[str, _CIDR_SCHEMA, AfterValidator(_ingress_cidr)]

# C0 controls and DEL: a CR or LF in a value that becomes a mail header, tag or environment
# variable splits it into two.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _plain_text(value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise invalid(f"{value!r} contains the control character {found.group()!r}",
                      "remove line breaks, tabs and other control characters")
    return value


_PLAIN_TEXT_SCHEMA = Field(json_schema_extra={
    "pattern": "^[^\\x00-\\x1f\\x7f]*$",
    "patternErrorMessage": pattern_error("plain text", "remove line breaks, tabs and other control characters")})
PlainText = Annotated[str, _PLAIN_TEXT_SCHEMA, AfterValidator(_plain_text)]
"""Free text that reaches a header, tag or environment variable: no control characters."""


def unique(values: tuple[Any, ...]) -> tuple[Any, ...]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise invalid(f"{value!r} is listed twice", "remove the duplicate entry")
        seen.add(value)
    return values


Unique = AfterValidator(unique)
