"""``leadflow keys create|list|revoke`` on the keys table (moto), and ``leadflow bench``'s command."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from leadflow_local import cli_ops
from leadflow_local.cli import main


def test_a_revoked_key_no_longer_authenticates(aws: Any):
    from chalicelib import wiring
    from chalicelib.services import access

    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--name", "crm", "--scope", "sales"])
    assert created.exit_code == 0, created.output
    key_id, secret = created.output.strip().split("\t")
    assert access.authenticate(secret, wiring.deps().store, wiring.deps().keys_cache) is not None

    listed = runner.invoke(main, ["keys", "list"], env={"COLUMNS": "200"})
    assert key_id in listed.output and "crm" in listed.output and secret not in listed.output

    revoked = runner.invoke(main, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    wiring.deps().keys_cache.clear()  # what a minute does to every API container
    assert access.authenticate(secret, wiring.deps().store, wiring.deps().keys_cache) is None
    assert runner.invoke(main, ["keys", "revoke", key_id]).exit_code == 0  # again: no change
    missing = runner.invoke(main, ["keys", "revoke", "k_nope"])
    assert missing.exit_code == 1 and "no API key" in missing.output


def test_a_key_created_for_a_user_belongs_to_that_person_and_an_unknown_user_is_refused(aws: Any):
    from datetime import UTC, datetime

    from chalicelib import wiring
    from chalicelib.domain.routing import User
    from chalicelib.services import access

    runner = CliRunner()
    refused = runner.invoke(main, ["keys", "create", "--name", "ann", "--scope", "sales", "--user", "ann"])
    assert refused.exit_code != 0 and "no such user: ann" in refused.output
    wiring.deps().people.put_user(User("ann", "Ann", "ann@example.com", ("sales_rep",)), datetime.now(UTC))
    created = runner.invoke(main, ["keys", "create", "--name", "ann", "--scope", "sales", "--user", "ann"])
    assert created.exit_code == 0, created.output
    _, secret = created.output.strip().split("\t")
    key = access.authenticate(secret, wiring.deps().store, wiring.deps().keys_cache)
    assert key is not None and key.user_id == "ann" and key.actor == "user:ann"


def test_bench_runs_the_benchmark_suite_with_the_given_arguments():
    assert cli_ops.bench_command("run", ("--quick",))[1:] == ["-m", "bench.run", "--quick"]
    assert cli_ops.bench_command("imports", ("--rows", "10"))[1:] == ["-m", "bench.imports", "--rows", "10"]
