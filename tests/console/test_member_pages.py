"""The console's members page over the in-memory runtime: everyone sees the members, admins
invite, change roles, remove (after asking) and cancel invitations; the last admin stays;
other workspaces' people are out of reach; a token shows who created it."""

from __future__ import annotations

import html
import re
from typing import Any

from entrypoints.api.services import ApiServices
from tests.console.conftest import Console
from tests.console.test_admin_pages import field_error
from tests.support.people import accept_people, bearer, join

PAGE = "/console/members"


def services(console: Console) -> ApiServices:
    found: ApiServices = console.client.app.state["services"]
    return found


def row(page: str, attribute: str, value: str) -> str:
    """The table row marked `data-<attribute>="<value>"`."""
    found = re.search(rf'<tr data-{attribute}="{re.escape(value)}".*?</tr>', page, re.S)
    assert found, f"no row {attribute}={value}"
    return found.group(0)


def alert_in(text: str) -> str:
    found = re.search(r'<p class="field-error" id="[^"]+" role="alert">(.*?)</p>', text)
    assert found, "no inline error"
    return html.unescape(found.group(1))


def notice(response: Any) -> str:
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


async def test_an_admin_invites_and_cancels_an_invitation(console: Console) -> None:
    await console.sign_in("a_admin")
    empty = await console.client.get(PAGE)
    assert empty.status_code == 200
    assert "No members yet" in empty.text and 'action="/console/members/invitations"' in empty.text

    invited = await console.post(f"{PAGE}/invitations", email="Bob@Example.com", role="editor")
    assert notice(invited) == f"{PAGE}?notice=member-invited"
    listed = await console.client.get(notice(invited))
    assert "they join when they first sign in" in listed.text
    invitation_id = re.findall(r'data-invitation="([^"]+)"', listed.text)[0]
    invitation = row(listed.text, "invitation", invitation_id)
    assert "bob@example.com" in invitation and "editor" in invitation and "by admin" in invitation

    cancelled = await console.post(f"{PAGE}/invitations/{invitation_id}/cancel")
    assert notice(cancelled) == f"{PAGE}?notice=invitation-cancelled"
    after = await console.client.get(PAGE)
    assert "bob@example.com" not in after.text and "No invitations are waiting" in after.text
    again = await console.post(f"{PAGE}/invitations/{invitation_id}/cancel")
    assert again.status_code == 404


async def test_a_bad_invitation_is_answered_as_the_form(console: Console) -> None:
    await join(services(console), "workspace-a", "alice@example.com", "admin")
    await console.sign_in("a_admin")

    no_email = await console.post(f"{PAGE}/invitations", email="", role="viewer")
    bad_email = await console.post(f"{PAGE}/invitations", email="nobody", role="viewer")
    bad_role = await console.post(f"{PAGE}/invitations", email="x@example.com", role="owner")
    member = await console.post(f"{PAGE}/invitations", email="alice@example.com", role="viewer")

    assert no_email.status_code == 422
    assert "Give the email" in field_error(no_email.text, "invite-email")
    assert bad_email.status_code == 422
    assert "not an email address" in field_error(bad_email.text, "invite-email")
    assert 'value="nobody"' in bad_email.text  # given back to be corrected
    assert bad_role.status_code == 422
    assert "Choose a role" in field_error(bad_role.text, "invite-role")
    assert member.status_code == 409
    assert "already a member" in field_error(member.text, "invite-email")


async def test_an_admin_changes_roles_and_removes_members_but_keeps_an_admin(
    console: Console,
) -> None:
    alice = await join(services(console), "workspace-a", "alice@example.com", "admin")
    bob = await join(services(console), "workspace-a", "bob@example.com", "editor")
    await console.sign_in("a_admin")

    page = (await console.client.get(PAGE)).text
    assert 'id="role-' + bob.id + '"' in row(page, "member", bob.id)
    assert "alice@example.com" in row(page, "member", alice.id)

    demoted = await console.post(f"{PAGE}/{alice.id}/role", role="viewer")
    assert demoted.status_code == 409
    assert "last admin" in alert_in(row(demoted.text, "member", alice.id))

    promoted = await console.post(f"{PAGE}/{bob.id}/role", role="admin")
    assert notice(promoted) == f"{PAGE}?notice=role-changed"
    page = (await console.client.get(notice(promoted))).text
    assert '<option value="admin" selected>' in row(page, "member", bob.id)

    asked = await console.client.get(f"{PAGE}/{alice.id}/remove")
    assert "Remove Alice (alice@example.com) from this workspace?" in asked.text
    assert f'action="{PAGE}/{alice.id}/remove"' in asked.text
    assert 'data-member="' + alice.id + '"' in (await console.client.get(PAGE)).text
    removed = await console.post(f"{PAGE}/{alice.id}/remove")
    assert notice(removed) == f"{PAGE}?notice=member-removed"
    page = (await console.client.get(notice(removed))).text
    assert f'data-member="{alice.id}"' not in page and "Member removed." in page

    last = await console.post(f"{PAGE}/{bob.id}/remove")
    assert last.status_code == 409
    assert "last admin" in alert_in(row(last.text, "member", bob.id))
    assert (await console.client.get(f"{PAGE}/{alice.id}/remove")).status_code == 404


async def test_others_see_the_list_only_and_may_change_nothing(console: Console) -> None:
    alice = await join(services(console), "workspace-a", "alice@example.com", "admin")
    await console.sign_in("a_admin")
    invited = await console.post(f"{PAGE}/invitations", email="bob@example.com", role="editor")
    assert notice(invited) == f"{PAGE}?notice=member-invited"

    for who in ("a_viewer", "a_editor"):
        await console.sign_in(who)
        page = await console.client.get(PAGE)
        assert page.status_code == 200
        assert f'href="{PAGE}" aria-current="page"' in page.text  # in every member's nav
        assert "Alice" in page.text
        assert "bob@example.com" not in page.text  # invitations are the admins'
        assert f'action="{PAGE}/invitations"' not in page.text  # no invite form
        assert f'action="{PAGE}/{alice.id}/role"' not in page.text
        assert f"{PAGE}/{alice.id}/remove" not in page.text
        refused = [
            await console.post(f"{PAGE}/invitations", email="eve@example.com", role="admin"),
            await console.post(f"{PAGE}/{alice.id}/role", role="viewer"),
            await console.post(f"{PAGE}/{alice.id}/remove"),
            await console.client.get(f"{PAGE}/{alice.id}/remove"),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403, 403], who


async def test_another_workspaces_members_are_out_of_reach(console: Console) -> None:
    boss = await join(services(console), "workspace-b", "boss@example.com", "admin")
    await join(services(console), "workspace-b", "other@example.com", "admin")
    await console.sign_in("a_admin")

    page = await console.client.get(PAGE)
    answers = [
        await console.post(f"{PAGE}/{boss.id}/role", role="viewer"),
        await console.post(f"{PAGE}/{boss.id}/remove"),
        await console.client.get(f"{PAGE}/{boss.id}/remove"),
    ]

    assert boss.id not in page.text
    assert [r.status_code for r in answers] == [404, 404, 404]


async def test_a_form_from_another_site_is_refused(console: Console) -> None:
    await console.sign_in("a_admin")

    forged = await console.client.post(
        f"{PAGE}/invitations",
        data={"email": "eve@example.com", "role": "admin"},
        headers={"Origin": "https://evil.example"},
    )

    assert forged.status_code == 403
    assert "eve@example.com" not in (await console.client.get(PAGE)).text


async def test_the_tokens_page_shows_who_created_a_token(console: Console) -> None:
    await console.sign_in("a_admin")

    created = await console.post("/console/tokens", name="from-console", role="viewer")

    assert created.status_code == 201
    token_id = re.findall(r'data-token="([^"]+)"', created.text)[0]
    made = row(created.text, "token", token_id)
    assert "from-console" in made
    assert "token or CLI</span>" in made  # made with a token: no person to name


async def test_a_token_a_person_created_is_listed_with_their_name(console: Console) -> None:
    people = accept_people(services(console))
    await join(services(console), "workspace-a", "alice@example.com", "admin", people)
    made = await console.client.post(
        "/api/v1/tokens", json={"name": "alice-ci", "role": "viewer"}, headers=bearer("alice")
    )
    await console.sign_in("a_admin")

    page = await console.client.get("/console/tokens")

    assert made.status_code == 201, made.text
    assert "<td data-created-by>Alice</td>" in row(page.text, "token", made.json()["id"])
