"""The bundle (the tested set of versions an environment runs) and the plan to move between two.

`synth` records the environment's bundle in `out/<env>/bundle.json`; `upgrade plan` compares a
recorded bundle with what the engine would deploy now and says what changes, in which order
(the order `apply` runs the stacks), and what can go wrong.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine import __version__
from engine.catalog import BY_NAME
from engine.errors import EngineError
from engine.render import chart_path
from engine.resolve import Resolved
from engine.targets.platform import (
    CLUSTER_AUTOSCALER_CHART,
    EXTERNAL_SECRETS_CHART,
    LOAD_BALANCER_CONTROLLER_CHART,
    METRICS_SERVER_CHART,
)

CONTROLLERS = (EXTERNAL_SECRETS_CHART, LOAD_BALANCER_CONTROLLER_CHART, CLUSTER_AUTOSCALER_CHART, METRICS_SERVER_CHART)


@dataclass(frozen=True)
class Bundle:
    """Versions of one environment: engine, chart, controller charts, images and PostgreSQL major."""

    engine: str
    chart: str
    postgres: str
    controllers: dict[str, str] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Step:
    area: str  # postgres, controllers, chart, image
    name: str
    before: str
    after: str
    risk: str


@dataclass(frozen=True)
class UpgradePlan:
    steps: tuple[Step, ...]
    warnings: tuple[str, ...]
    needs_confirm: bool  # a PostgreSQL major upgrade of a production environment

    def as_dict(self) -> dict[str, Any]:
        return {"steps": [asdict(s) for s in self.steps], "warnings": list(self.warnings),
                "needs_confirm": self.needs_confirm}


def bundle_of(resolved: Resolved) -> Bundle:
    """The bundle this engine deploys for `resolved` (images as configured, overrides included)."""
    chart = yaml.safe_load((chart_path() / "Chart.yaml").read_text(encoding="utf-8"))
    return Bundle(engine=__version__, chart=str(chart["version"]), postgres=resolved.config.database.engine_version,
                  controllers={c.chart: c.version for c in CONTROLLERS},
                  images={s.name: s.image for s in resolved.services})


def read_bundle(path: Path) -> Bundle:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Bundle(engine=str(data["engine"]), chart=str(data["chart"]), postgres=str(data["postgres"]),
                      controllers={str(k): str(v) for k, v in data["controllers"].items()},
                      images={str(k): str(v) for k, v in data["images"].items()})
    except FileNotFoundError:
        raise EngineError(f"no recorded bundle at {path}",
                          "synthesize the deployed revision first (it writes out/<env>/bundle.json), "
                          "or pass --from with a bundle file") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EngineError(f"{path} is not a bundle file: {exc}", "bundle files are written by `synth`") from None


def plan_upgrade(previous: Bundle, resolved: Resolved) -> UpgradePlan:
    """Steps from `previous` to what the engine deploys now, in `apply`'s order: data, cluster, workloads."""
    current = bundle_of(resolved)
    steps: list[Step] = []
    before, after = int(previous.postgres), int(current.postgres)
    if after < before:
        raise EngineError(f"PostgreSQL cannot go back from {before} to {after}",
                          "restore a snapshot taken before the upgrade into a new environment instead")
    if after > before:
        steps.append(Step("postgres", "major version", str(before), str(after),
                          "downtime while RDS upgrades (both zones of a multi-AZ instance at once); apply first "
                          f"takes the snapshot {resolved.names['database']}-before-postgres{after} and keeps it; drop "
                          "logical replication slots (realtime) first or RDS refuses; extensions need "
                          f"ALTER EXTENSION ... UPDATE afterwards; a new parameter group postgres{after}"))
    for name in sorted(previous.controllers.keys() | current.controllers.keys()):
        old, new = previous.controllers.get(name, "-"), current.controllers.get(name, "-")
        if old != new:
            steps.append(Step("controllers", name, old, new, "CRDs ship with the chart: read its upgrade notes"))
    if previous.chart != current.chart:
        steps.append(Step("chart", "supabase", previous.chart, current.chart,
                          "rolling restart of every component; the bootstrap Job reruns its migrations first"))
    for name in sorted(previous.images.keys() | current.images.keys()):
        old, new = previous.images.get(name, "-"), current.images.get(name, "-")
        if old != new:
            steps.append(Step("image", name, old, new, "rolling update; new upstream migrations run at start-up"))
    warnings = []
    for service in resolved.services:
        component = BY_NAME[service.name]
        pinned = f"{component.repository}:{component.tag}"
        if service.image != pinned:
            warnings.append(f"{service.name} runs {service.image}, outside the tested bundle ({pinned}): "
                            "the engine has not tested it with the rest")
    production = resolved.config.project.tier == "production"
    return UpgradePlan(tuple(steps), tuple(warnings), needs_confirm=production and after > before)


def render_text(plan: UpgradePlan, environment: str) -> str:
    if not plan.steps:
        lines = [f"{environment}: nothing to upgrade"]
    else:
        lines = [f"{environment}: {len(plan.steps)} change(s), in the order `apply` makes them"]
        for number, step in enumerate(plan.steps, 1):
            lines += [f"  {number}. {step.area} {step.name}: {step.before} -> {step.after}", f"     risk: {step.risk}"]
    if plan.needs_confirm:
        lines.append(f"production: `apply --confirm {environment}` is required for the PostgreSQL major upgrade")
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines) + "\n"
