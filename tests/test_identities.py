"""The service-account names shared with the chart stay within IAM limits and unambiguous."""

from __future__ import annotations

from engine.identities import SERVICE_ACCOUNTS


def test_role_suffixes_fit_iam_limits_and_are_unique() -> None:
    suffixes = [a.role_suffix for a in SERVICE_ACCOUNTS]
    assert len(set(suffixes)) == len(suffixes)
    assert all(len(s) <= 25 for s in suffixes)  # resolve keeps role_prefix <= 38; names stay <= 64


def test_service_accounts_are_distinct() -> None:
    assert len({(a.namespace, a.name) for a in SERVICE_ACCOUNTS}) == len(SERVICE_ACCOUNTS)
    assert all(a.subject == f"system:serviceaccount:{a.namespace}:{a.name}" for a in SERVICE_ACCOUNTS)
