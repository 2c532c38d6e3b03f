"""The migrations' custom resource answers CloudFormation within a bound that fits the function's timeout."""

from __future__ import annotations

from tools import sam_template


def test_cloudformation_waits_for_the_migrations_a_little_longer_than_the_function_runs() -> None:
    # given the custom resource and the function behind it
    resource = sam_template.resource("SchemaMigrations")
    function_timeout = int(sam_template.function_setting("MigrateFunction", "Timeout"))

    # when CloudFormation waits for the answer
    service_timeout = int(resource["ServiceTimeout"])

    # then it waits past the function's own limit (its answer still arrives) but well under the 1 h default
    assert function_timeout < service_timeout <= function_timeout + 120
    assert service_timeout < 3600
