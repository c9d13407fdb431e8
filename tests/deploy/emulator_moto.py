"""moto's server with two S3 bucket policy shortcuts and one RDS shortcut of moto corrected; run as
``python -m tests.deploy.emulator_moto``.

All are emulator gaps (moto 5.2.5), not properties of our stacks, which real AWS accepts:

- Every RDS instance gets the same ``DbiResourceId``. The aws provider finds an instance by that
  id (its Terraform id), so with a second instance (a restore drill beside its source) it finds
  none. Here each instance gets its own, as in RDS, a restored one included.
- A restore (from a snapshot or to a point in time) copies every attribute of its source and
  then applies only the request's truthy values, so an explicit ``DeletionProtection=false`` (a
  drill restored from production) is dropped and the source's ``true`` kept: the next plan wants
  to turn it off again. RDS honours it; here explicit false values are applied too. Likewise
  Multi-AZ: RDS restores as Single-AZ unless the request asks for ``MultiAZ`` (the aws provider
  leaves ``multi_az = false`` out of the request), moto keeps the source's. Here it is Single-AZ.
  And a point in time restore's ``SourceDBInstanceIdentifier`` lands in the attribute moto uses
  for a read replica's source, so the restored instance reads as a replica of production (the
  provider's ``replicate_source_db``). A restore is no replica; here it has no replica source.

- Bucket policy enforcement ignores a statement's Condition, so the TLS-only statement
  (Deny ``s3:*`` when ``aws:SecureTransport`` is false) refuses every object request. Here
  statements conditioned on ``aws:SecureTransport`` are left out of moto's evaluation (moto has
  no request context to evaluate them against).
- The server access logging permission check reads ``Principal`` as a mapping (a ``"*"``
  principal elsewhere in the policy crashes it with a 500 that the provider retries forever)
  and compares ``Resource`` with exact strings. Here: an Allow of ``s3:PutObject`` to
  ``logging.s3.amazonaws.com`` on a resource pattern covering the log prefix, as S3 documents.
  The check still needs the policy to exist, so enabling logging before it still fails.
"""

from __future__ import annotations

import fnmatch
import json
import secrets
import string
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

from moto.rds import models as rds_models
from moto.s3 import models
from moto.server import main

LOGGING_SERVICE = "logging.s3.amazonaws.com"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditioned_on_tls(statement: dict[str, Any]) -> bool:
    return any("aws:SecureTransport" in keys for keys in (statement.get("Condition") or {}).values())


def _get_permission(self: models.FakeBucket, action: str, resource: str) -> Any:
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy.decode())
    policy["Statement"] = [s for s in _listed(policy.get("Statement", [])) if not _conditioned_on_tls(s)]
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


def _log_permissions_enabled_policy(target_bucket: models.FakeBucket, target_prefix: str | None) -> bool:
    if not target_bucket.policy:
        return False
    written = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}/{target_prefix or ''}object"
    for statement in _listed(json.loads(target_bucket.policy.decode()).get("Statement", [])):
        principal = statement.get("Principal")
        services = _listed(principal.get("Service", [])) if isinstance(principal, dict) else []
        if (statement.get("Effect") == "Allow" and LOGGING_SERVICE in services
                and "s3:PutObject" in _listed(statement.get("Action", []))
                and any(fnmatch.fnmatchcase(written, r) for r in _listed(statement.get("Resource", [])))):
            return True
    return False


_create_instance = rds_models.DBInstance.__init__


def _instance_with_own_resource_id(self: rds_models.DBInstance, *args: Any, **kwargs: Any) -> None:
    _create_instance(self, *args, **kwargs)
    self.dbi_resource_id = "db-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(26))


def _honouring_false(restore: Callable[..., rds_models.DBInstance]) -> Callable[..., rds_models.DBInstance]:
    @wraps(restore)
    def restored(self: rds_models.RDSBackend, *args: Any) -> rds_models.DBInstance:
        instance = restore(self, *args)
        overrides = args[-1]  # the request's parameters, last in both restores' signatures
        for key, value in overrides.items():
            # only plain attributes the instance keeps: not request-only flags such as UseLatestRestorableTime
            if value is False and key in vars(instance):
                setattr(instance, key, False)
        # RDS's documented default for both restores (SQL Server mirroring aside, not used here)
        instance.multi_az = bool(overrides.get("multi_az"))
        instance.source_db_instance_identifier = None  # a restore is never a read replica
        return instance

    return restored


# Fail loudly if another moto release renamed what is replaced here, rather than test less.
for _name in ("get_permission", "_log_permissions_enabled_policy"):
    if not callable(getattr(models.FakeBucket, _name, None)):
        raise SystemExit(f"moto {models.__name__}: FakeBucket.{_name} is gone; revisit tests/deploy/emulator_moto.py")
models.FakeBucket.get_permission = _get_permission  # type: ignore[method-assign]
models.FakeBucket._log_permissions_enabled_policy = staticmethod(_log_permissions_enabled_policy)  # type: ignore[method-assign]
rds_models.DBInstance.__init__ = _instance_with_own_resource_id  # type: ignore[method-assign]
for _name in ("restore_db_instance_from_db_snapshot", "restore_db_instance_to_point_in_time"):
    if not callable(getattr(rds_models.RDSBackend, _name, None)):
        raise SystemExit(f"moto: RDSBackend.{_name} is gone; revisit tests/deploy/emulator_moto.py")
    setattr(rds_models.RDSBackend, _name, _honouring_false(getattr(rds_models.RDSBackend, _name)))

if __name__ == "__main__":
    main(sys.argv[1:])
