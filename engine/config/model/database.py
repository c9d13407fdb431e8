"""`database`: the RDS PostgreSQL instance. Always private, encrypted with our key, TLS only."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from engine.config.model.base import Section, invalid, pattern_error
from engine.config.model.supabase import Image

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIN_WINDOW_MINUTES = 30

_INSTANCE_CLASS = re.compile(r"db\.[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[0-9]*[a-z]+")
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]"
_BACKUP_WINDOW = re.compile(rf"{_CLOCK}-{_CLOCK}")
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
_MAINTENANCE_WINDOW = re.compile(rf"{_DAY}:{_CLOCK}-{_DAY}:{_CLOCK}")


def _instance_class(value: str) -> str:
    if _INSTANCE_CLASS.fullmatch(value):
        return value
    if _INSTANCE_CLASS.fullmatch(f"db.{value}"):
        raise invalid(f"{value!r} is not an RDS class (expected db.*)", f"did you mean 'db.{value}'?")
    raise invalid(f"{value!r} is not an RDS class (expected db.*)", "for example db.r6g.large or db.t4g.medium")


def minutes_of_week(day: str, clock: str) -> int:
    hours, minutes = clock.split(":")
    return DAYS.index(day) * 1440 + int(hours) * 60 + int(minutes)


def window_span(start: int, end: int, period: int) -> int:
    """Length in minutes of a window that may wrap around the end of its period."""
    return (end - start) % period


def _backup_window(value: str) -> str:
    if not _BACKUP_WINDOW.fullmatch(value):
        raise invalid(f"{value!r} is not a daily window", "write hh:mm-hh:mm in UTC, for example 03:00-04:00")
    start, end = (minutes_of_week("mon", part) for part in value.split("-"))
    if window_span(start, end, 1440) < MIN_WINDOW_MINUTES:
        raise invalid(f"backup window {value} is shorter than {MIN_WINDOW_MINUTES} minutes",
                      "RDS needs at least 30 minutes, for example 03:00-04:00")
    return value


def _maintenance_window(value: str) -> str:
    if not _MAINTENANCE_WINDOW.fullmatch(value):
        raise invalid(f"{value!r} is not a weekly window",
                      "write ddd:hh:mm-ddd:hh:mm in UTC, for example sun:05:00-sun:06:00")
    start, end = (minutes_of_week(*part.split(":", 1)) for part in value.split("-"))
    if window_span(start, end, 7 * 1440) < MIN_WINDOW_MINUTES:
        raise invalid(f"maintenance window {value} is shorter than {MIN_WINDOW_MINUTES} minutes",
                      "RDS needs at least 30 minutes, for example sun:05:00-sun:06:00")
    return value


_IDENTIFIER = re.compile(r"[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)")
_SNAPSHOT_ARN = r"arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:snapshot:"
_SNAPSHOT = re.compile(rf"({_SNAPSHOT_ARN})?{_IDENTIFIER.pattern}")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def _identifier(value: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        raise invalid(f"{value!r} is not an RDS instance identifier",
                      "lower-case letters, digits and single hyphens, starting with a letter, for example acme-prod")
    return value


def _snapshot(value: str) -> str:
    if not _SNAPSHOT.fullmatch(value):
        raise invalid(f"{value!r} is not a DB snapshot identifier or ARN",
                      "for example acme-prod-before-postgres17, or a snapshot ARN shared from another account")
    return value


def _instant(value: str) -> str:
    try:
        valid = bool(_INSTANT.fullmatch(value)) and datetime.fromisoformat(value) is not None
    except ValueError:
        valid = False
    if not valid:
        raise invalid(f"{value!r} is not a UTC time", "write YYYY-MM-DDThh:mm:ssZ, for example 2026-03-01T09:30:00Z")
    return value


class PointInTime(Section):
    source_db_instance_identifier: Annotated[str, AfterValidator(_identifier)] = Field(
        description="Identifier of the instance whose automated backups to restore from (another "
        "environment's, for example acme-prod; it keeps running).", examples=["acme-prod"],
    )
    restore_time: Annotated[str, AfterValidator(_instant)] | None = Field(
        None, json_schema_extra={"pattern": f"^{_INSTANT.pattern}$", "patternErrorMessage": pattern_error(
            "a UTC time", "write it as YYYY-MM-DDThh:mm:ssZ, such as 2026-03-01T09:30:00Z")},
        description="The UTC time to restore to, within the source's backup retention.",
        examples=["2026-03-01T09:30:00Z"],
    )
    use_latest_restorable_time: bool = Field(
        False, description="Restore to the latest restorable time instead of `restore_time`.", examples=[True],
    )


class Restore(Section):
    mode: Literal["drill", "replace"] = Field(
        description="`drill`: this (non-production) environment is a new copy to verify; `replace`: the "
        "restored instance replaces this environment's database (production needs `apply --confirm`).",
        examples=["drill"],
    )
    snapshot_identifier: Annotated[str, AfterValidator(_snapshot)] | None = Field(
        None, description="Restore from this named DB snapshot (identifier or ARN).",
        examples=["acme-prod-before-postgres17"],
    )
    point_in_time: PointInTime | None = Field(
        None, description="Restore another instance's automated backups to a point in time.",
        examples=[{"source_db_instance_identifier": "acme-prod", "use_latest_restorable_time": True}],
    )


class Database(Section):
    engine_version: Literal["15", "16", "17"] = Field(
        "16", description="PostgreSQL major version.", examples=["16"],
    )
    instance_class: Annotated[str, AfterValidator(_instance_class)] = Field(
        "db.t4g.medium", json_schema_extra={
            "pattern": f"^{_INSTANCE_CLASS.pattern}$",
            "patternErrorMessage": pattern_error("an RDS class (expected db.*)",
                                                 "for example db.r6g.large or db.t4g.medium"),
        },
        description="RDS instance class.", examples=["db.r6g.large"],
    )
    allocated_storage_gib: int = Field(
        50, ge=20, le=65536, description="Initial gp3 storage in GiB.", examples=[100],
    )
    max_allocated_storage_gib: int = Field(
        200, ge=20, le=65536,
        description="Storage autoscaling ceiling in GiB (at least `allocated_storage_gib`).", examples=[1000],
    )
    multi_az: bool = Field(False, description="Standby in a second zone (required in production).",
                           examples=[True])
    backup_retention_days: int = Field(
        7, ge=1, le=35, description="Days of automated backups (1-35; production needs >= 7).", examples=[14],
    )
    deletion_protection: bool = Field(
        True, description="Refuse to delete the instance (required in production).", examples=[True],
    )
    performance_insights: bool = Field(
        True, description="Performance Insights, encrypted with the data key.", examples=[True],
    )
    backup_window: Annotated[str, AfterValidator(_backup_window)] = Field(
        "03:00-04:00", json_schema_extra={
            "pattern": f"^{_BACKUP_WINDOW.pattern}$",
            "patternErrorMessage": pattern_error("a daily window", "write hh:mm-hh:mm in UTC, for example 03:00-04:00"),
        },
        description="Daily backup window, hh:mm-hh:mm UTC, at least 30 minutes.", examples=["02:00-03:00"],
    )
    bootstrap_image: Image | None = Field(
        None, description="Image of the Job that runs `supa-engine db bootstrap` before each install and "
        "upgrade. Required: build it from the repository's Dockerfile and push it to a registry in "
        "`security.image_registries` (supa-engine publishes no image).",
        examples=[{"repository": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/supa-engine", "tag": "0.1.0"}],
    )
    maintenance_window: Annotated[str, AfterValidator(_maintenance_window)] = Field(
        "sun:05:00-sun:06:00", json_schema_extra={
            "pattern": f"^{_MAINTENANCE_WINDOW.pattern}$",
            "patternErrorMessage": pattern_error("a weekly window",
                                                 "write ddd:hh:mm-ddd:hh:mm in UTC, for example sun:05:00-sun:06:00"),
        },
        description="Weekly maintenance window, ddd:hh:mm-ddd:hh:mm UTC; must not overlap the backup window.",
        examples=["sun:05:00-sun:06:00"],
    )
    restore: Restore | None = Field(
        None, description="Create the instance from a snapshot or a point in time instead of empty. Keep it "
        "after the restore: removing it would replace the instance again.",
        examples=[{"mode": "drill", "snapshot_identifier": "acme-prod-before-postgres17"}],
    )
