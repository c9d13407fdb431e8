"""The network stack: VPC, subnets per zone, NAT, routes, flow logs, endpoints, alarm topic.

Layout per zone (CIDRs from `resolved.subnets`): a public subnet (load balancers and NAT
gateways only; no instance gets a public IP, so `map_public_ip_on_launch` is false even here),
a private subnet (nodes and pods; default route through a NAT gateway) and a database subnet
(no route to the internet at all). `network.nat` chooses one NAT gateway in the first zone
(`single`) or one per zone (`per_az`, each private route table using its own zone's NAT).

AWS services are reached privately: an S3 gateway endpoint on the private and database route
tables, and interface endpoints (private DNS) for `network.interface_endpoints`, open on 443
to the VPC only. The default security group is adopted with no rules, so anything that falls
back to it can talk to nothing. All traffic is flow-logged to a KMS-encrypted log group.

This stack also owns what the data and cluster stacks share, so that neither depends on the
other and both apply at once: the `logs` and `data` KMS keys, the alarm topic (see `kms` and
`alarms`), and the database path, a database security group that admits 5432 only from the
workload security group (attached to every node) and that group's one egress rule to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktn import Fn, Token
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones, DataAwsAvailabilityZonesFilter
from cdktn_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktn_provider_aws.default_security_group import DefaultSecurityGroup
from cdktn_provider_aws.eip import Eip
from cdktn_provider_aws.flow_log import FlowLog
from cdktn_provider_aws.internet_gateway import InternetGateway
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.nat_gateway import NatGateway
from cdktn_provider_aws.route import Route
from cdktn_provider_aws.route_table import RouteTable
from cdktn_provider_aws.route_table_association import RouteTableAssociation
from cdktn_provider_aws.security_group import SecurityGroup
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.subnet import Subnet
from cdktn_provider_aws.vpc import Vpc
from cdktn_provider_aws.vpc_endpoint import VpcEndpoint, VpcEndpointSubnetConfiguration
from cdktn_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktn_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from engine.resolve import Resolved
from engine.targets.terraform import iam
from engine.targets.terraform.alarms import alarm_topic, metric_alarm
from engine.targets.terraform.base import BaseStack
from engine.targets.terraform.database import PORT
from engine.targets.terraform.kms import data_key, logs_key

ANYWHERE = "0.0.0.0/0"


class NetworkStack(BaseStack):
    """Exports: `vpc`, `public_subnets`, `private_subnets`, `database_subnets`, `logs_key`, `data_key`,
    `alarm_topic`, `database_security_group`, `workload_security_group`."""

    vpc: Vpc
    logs_key: KmsKey
    data_key: KmsKey
    alarm_topic: SnsTopic
    database_security_group: SecurityGroup
    workload_security_group: SecurityGroup

    def __init__(self, scope: Construct, resolved: Resolved) -> None:
        super().__init__(scope, "network", resolved)
        self.logs_key = logs_key(self)
        self.data_key = data_key(self)
        self.alarm_topic = alarm_topic(self, self.logs_key)
        network = self.config.network
        self._zones: DataAwsAvailabilityZones | None = None
        self.vpc = Vpc(self, "vpc", cidr_block=network.vpc_cidr, enable_dns_support=True,
                       enable_dns_hostnames=True, tags={"Name": self.name("vpc")})
        DefaultSecurityGroup(self, "default_security_group", vpc_id=self.vpc.id,
                             tags={"Name": self.name("default-closed")})
        self._subnets()
        self._routes()
        self._flow_log()
        self._endpoints()
        self._database_access()

    # -- subnets -----------------------------------------------------------------------------

    def _zone(self, index: int) -> str:
        if self.resolved.zones is not None:
            return self.resolved.zones[index]
        if self._zones is None:
            # Only zones that need no opt-in (no Local or Wavelength Zones), in AWS's stable name order.
            self._zones = DataAwsAvailabilityZones(self, "zones", state="available", filter=[
                DataAwsAvailabilityZonesFilter(name="opt-in-status", values=["opt-in-not-required"])])
        return Token.as_string(Fn.element(self._zones.names, index))

    def _subnets(self) -> None:
        cluster_tag = {f"kubernetes.io/cluster/{self.resolved.names['cluster']}": "shared"}
        self.public_subnets: list[Subnet] = []
        self.private_subnets: list[Subnet] = []
        self.database_subnets: list[Subnet] = []
        for zone in self.resolved.subnets:
            i = zone.index
            self.public_subnets.append(self._subnet(
                f"public_{i}", zone.public, i, {"kubernetes.io/role/elb": "1", **cluster_tag}))
            self.private_subnets.append(self._subnet(
                f"private_{i}", zone.private, i, {"kubernetes.io/role/internal-elb": "1", **cluster_tag}))
            self.database_subnets.append(self._subnet(f"database_{i}", zone.database, i, {}))

    def _subnet(self, id_: str, cidr: str, index: int, tags: dict[str, str]) -> Subnet:
        return Subnet(self, id_, vpc_id=self.vpc.id, cidr_block=cidr, availability_zone=self._zone(index),
                      map_public_ip_on_launch=False,
                      tags={"Name": self.name(id_.replace("_", "-")), **tags})

    # -- routing -----------------------------------------------------------------------------

    def _routes(self) -> None:
        igw = InternetGateway(self, "internet_gateway", vpc_id=self.vpc.id, tags={"Name": self.name("igw")})
        public = RouteTable(self, "public_routes", vpc_id=self.vpc.id, tags={"Name": self.name("public")})
        Route(self, "public_default_route", route_table_id=public.id, destination_cidr_block=ANYWHERE,
              gateway_id=igw.id)
        for subnet, zone in zip(self.public_subnets, self.resolved.subnets, strict=True):
            RouteTableAssociation(self, f"public_{zone.index}_association", subnet_id=subnet.id,
                                  route_table_id=public.id)

        nat_count = 1 if self.config.network.nat == "single" else len(self.resolved.subnets)
        self.nat_gateways: list[NatGateway] = []
        for i in range(nat_count):
            eip = Eip(self, f"nat_{i}_address", domain="vpc", tags={"Name": self.name(f"nat-{i}")})
            nat = NatGateway(self, f"nat_{i}", allocation_id=eip.id, subnet_id=self.public_subnets[i].id,
                             tags={"Name": self.name(f"nat-{i}")}, depends_on=[igw])
            self.nat_gateways.append(nat)
            metric_alarm(self, f"nat_{i}_port_allocation_alarm", topic_arn=self.alarm_topic.arn,
                         name=f"nat-{i}-port-allocation",
                         description="The NAT gateway could not allocate a source port: egress connections fail.",
                         namespace="AWS/NATGateway", metric="ErrorPortAllocation",
                         dimensions={"NatGatewayId": nat.id}, statistic="Sum",
                         comparison="GreaterThanThreshold", threshold=0, evaluation_periods=1)

        self.private_route_tables: list[RouteTable] = []
        for subnet, zone in zip(self.private_subnets, self.resolved.subnets, strict=True):
            i = zone.index
            table = RouteTable(self, f"private_{i}_routes", vpc_id=self.vpc.id,
                               tags={"Name": self.name(f"private-{i}")})
            Route(self, f"private_{i}_default_route", route_table_id=table.id, destination_cidr_block=ANYWHERE,
                  nat_gateway_id=self.nat_gateways[i if nat_count > 1 else 0].id)
            RouteTableAssociation(self, f"private_{i}_association", subnet_id=subnet.id, route_table_id=table.id)
            self.private_route_tables.append(table)

        # Database subnets: local VPC routing only (plus the S3 gateway endpoint), no internet path.
        self.database_route_table = RouteTable(self, "database_routes", vpc_id=self.vpc.id,
                                               tags={"Name": self.name("database")})
        for subnet, zone in zip(self.database_subnets, self.resolved.subnets, strict=True):
            RouteTableAssociation(self, f"database_{zone.index}_association", subnet_id=subnet.id,
                                  route_table_id=self.database_route_table.id)

    # -- flow logs ---------------------------------------------------------------------------

    def _flow_log(self) -> None:
        group = CloudwatchLogGroup(self, "flow_log_group", name=f"{self.resolved.names['log_group']}/vpc-flow-logs",
                                   retention_in_days=self.config.network.flow_log_retention_days,
                                   kms_key_id=self.logs_key.arn)
        trust = iam.trust_service(self, "flow_log_trust", "vpc-flow-logs.amazonaws.com",
                                  source_account=self.account_id)
        write = iam.document(self, "flow_log_write", [iam.allow(
            "WriteFlowLogs", ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            [group.arn, f"{group.arn}:*"])])
        writer = iam.role(self, "flow_log_role", name=self.role_name("flow-logs"), trust=trust, inline=write,
                          description="VPC flow logs delivery to CloudWatch Logs")
        FlowLog(self, "flow_log", vpc_id=self.vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                log_destination=group.arn, iam_role_arn=writer.arn, max_aggregation_interval=60,
                tags={"Name": self.name("flow-log")})

    # -- database access ---------------------------------------------------------------------

    def _database_access(self) -> None:
        """The two groups and the rule pair between them: the data stack attaches the database group
        to the instance, the cluster stack the workload group to every node (launch templates)."""
        self.database_security_group = SecurityGroup(
            self, "database_security_group", name=self.name("database"), vpc_id=self.vpc.id,
            description="RDS PostgreSQL: 5432 from the cluster's workload security group only",
            tags={"Name": self.name("database")})
        self.workload_security_group = SecurityGroup(
            self, "workload_security_group", name=self.name("workloads"), vpc_id=self.vpc.id,
            description="EKS nodes and pods: the identity the database admits", tags={"Name": self.name("workloads")})
        database, workload = self.database_security_group.id, self.workload_security_group.id
        VpcSecurityGroupEgressRule(self, "workload_to_database", security_group_id=workload,
                                   description="PostgreSQL to the database", ip_protocol="tcp", from_port=PORT,
                                   to_port=PORT, referenced_security_group_id=database)
        VpcSecurityGroupIngressRule(self, "database_from_workloads", security_group_id=database,
                                    description="PostgreSQL from EKS workloads", ip_protocol="tcp", from_port=PORT,
                                    to_port=PORT, referenced_security_group_id=workload)

    # -- endpoints ---------------------------------------------------------------------------

    def _endpoints(self) -> None:
        # ECR serves image layers from an AWS-owned bucket through this endpoint.
        layers = self.arn("s3", f"prod-{self.region}-starport-layer-bucket/*", regional=False, account=False)
        self.s3_endpoint = VpcEndpoint(
            self, "s3_endpoint", vpc_id=self.vpc.id, service_name=f"com.amazonaws.{self.region}.s3",
            vpc_endpoint_type="Gateway", policy=endpoint_policy(self, "s3", extra=[
                iam.allow("EcrImageLayers", ["s3:GetObject"], [layers], principals=[iam.principal("*", "*")])]).json,
            route_table_ids=[t.id for t in self.private_route_tables] + [self.database_route_table.id],
            tags={"Name": self.name("s3")})
        services = self.config.network.interface_endpoints
        if not services:
            return
        group = SecurityGroup(self, "endpoints_security_group", name=self.name("endpoints"), vpc_id=self.vpc.id,
                              description="Interface VPC endpoints: HTTPS from inside the VPC only",
                              tags={"Name": self.name("endpoints")})
        VpcSecurityGroupIngressRule(self, "endpoints_https_ingress", security_group_id=group.id,
                                    description="HTTPS to AWS APIs from the VPC", ip_protocol="tcp",
                                    from_port=443, to_port=443, cidr_ipv4=self.config.network.vpc_cidr)
        for service in services:
            VpcEndpoint(self, f"{service.replace('.', '_').replace('-', '_')}_endpoint", vpc_id=self.vpc.id,
                        service_name=f"com.amazonaws.{self.region}.{service}", vpc_endpoint_type="Interface",
                        private_dns_enabled=True, subnet_ids=[s.id for s in self.private_subnets],
                        subnet_configuration=[
                            VpcEndpointSubnetConfiguration(subnet_id=subnet.id, ipv4=zone.sts_endpoint)
                            for subnet, zone in zip(self.private_subnets, self.resolved.subnets, strict=True)
                        ] if service == "sts" else None,
                        policy=endpoint_policy(self, service).json,
                        security_group_ids=[group.id], tags={"Name": self.name(f"{service}-endpoint")})


# The IAM prefix of each endpoint service's actions.
_ACTION_PREFIX = {"ecr.api": "ecr", "ecr.dkr": "ecr", "monitoring": "cloudwatch"}


def endpoint_policy(stack: BaseStack, service: str, *, extra: Sequence[iam.Statement] = ()) -> DataAwsIamPolicyDocument:
    """What may pass an endpoint: calls by this account's principals, or on this account's
    resources (STS web-identity calls carry no principal yet, but assume a role of ours)."""
    actions = [f"{_ACTION_PREFIX.get(service, service)}:*"]
    anyone = [iam.principal("*", "*")]
    return iam.document(stack, f"{service.replace('.', '_').replace('-', '_')}_endpoint_policy", [
        iam.allow("OwnPrincipals", actions, ["*"], principals=anyone,
                  conditions=[iam.condition("StringEquals", "aws:PrincipalAccount", stack.account_id)]),
        iam.allow("OwnResources", actions, ["*"], principals=anyone,
                  conditions=[iam.condition("StringEquals", "aws:ResourceAccount", stack.account_id)]),
        *extra,
    ])
