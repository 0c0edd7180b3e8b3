"""The console's retention page: every role sees the policy, only admins change it, and a
bad value is shown again with its message."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import Console


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" [^>]*value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


@pytest.mark.parametrize("who", ["a_admin", "a_editor", "a_viewer"])
async def test_every_role_sees_the_policy_and_a_nav_link_to_it(console: Console, who: str) -> None:
    await console.sign_in(who)

    page = await console.client.get("/console/retention")

    assert page.status_code == 200
    assert 'href="/console/retention" aria-current="page"' in page.text
    assert _value(page.text, "keep_finished_days") == "30"
    assert _value(page.text, "keep_audit_days") == "365"
    assert _value(page.text, "keep_succeeded_hours") == ""
    assert ("Save retention" in page.text) is (who == "a_admin")


async def test_an_admin_saves_the_policy_and_the_page_shows_it(console: Console) -> None:
    await console.sign_in("a_admin")

    saved = await console.post(
        "/console/retention",
        keep_finished_days="14",
        keep_failed_days="45",
        keep_succeeded_hours="6",
        keep_audit_days="90",
    )
    page = await console.client.get(saved.headers["location"])

    assert saved.status_code == 303
    assert "Retention saved" in page.text
    assert [_value(page.text, n) for n in ("keep_finished_days", "keep_failed_days")] == [
        "14",
        "45",
    ]
    assert _value(page.text, "keep_succeeded_hours") == "6"
    api = await console.client.get(
        "/api/v1/retention", headers={"Authorization": f"Bearer {console.tokens['a_viewer']}"}
    )
    assert api.json()["keep_audit_days"] == 90


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("keep_finished_days", "0", "between 1 and 3650"),
        ("keep_audit_days", "2", "between 7 and 3650"),
        ("keep_failed_days", "ten", "whole number"),
    ],
)
async def test_a_bad_value_is_shown_again_with_its_message_and_nothing_is_saved(
    console: Console, field: str, text: str, message: str
) -> None:
    await console.sign_in("a_admin")
    fields = {
        "keep_finished_days": "30",
        "keep_failed_days": "30",
        "keep_succeeded_hours": "",
        "keep_audit_days": "365",
        field: text,
    }

    refused = await console.post("/console/retention", **fields)

    assert refused.status_code == 422
    assert message in refused.text
    assert f'id="{field}-error"' in refused.text
    assert _value(refused.text, field) == text
    page = await console.client.get("/console/retention")
    assert _value(page.text, "keep_finished_days") == "30"
    assert _value(page.text, "keep_failed_days") == "30"


@pytest.mark.parametrize("who", ["a_editor", "a_viewer"])
async def test_only_admins_change_it(console: Console, who: str) -> None:
    await console.sign_in(who)

    refused = await console.post("/console/retention", keep_finished_days="1")

    assert refused.status_code == 403
    page = await console.client.get("/console/retention")
    assert _value(page.text, "keep_finished_days") == "30"
