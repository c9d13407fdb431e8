"""The Terraform target: CDK Terrain stacks synthesized to `cdk.tf.json`.

Entry point: `engine.targets.terraform.app.synthesize(resolved, outdir)`. Importing this package
is cheap; CDK Terrain and the provider bindings load only when a stack module is imported,
which `synthesize` does after the edge has chosen the Node.js binary (`engine.node`).

Modules:
  app         the App and its synth (the one place that writes stacks)
  stacks      which stacks exist and how they are wired (network -> {data, cluster} -> workloads)
  base        backend, provider, version pin, names and ARNs shared by every stack
  iam, kms    policy documents and roles; customer managed keys and their key policies
  alarms      the alarm topic and metric alarms
  network     VPC, subnets, NAT, routes, flow logs, endpoints; the keys and security groups
              that data and cluster share
  data        database (RDS), buckets (S3), secrets, waf
  cluster     EKS, access, OIDC; nodes, addons and irsa as helpers
  workloads   restricted namespaces, platform controllers and the charts/supabase release
              (helm delivery only; namespaces_chart/ is the tiny chart for the namespaces)
"""
