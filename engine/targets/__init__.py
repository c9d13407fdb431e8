"""Compilers from resolved facts to deployable output: one subpackage or module per target.

Targets are pure functions of `engine.resolve.Resolved`; heavy toolkits (CDK Terrain) are
imported only inside the target that needs them, never from here.
"""
