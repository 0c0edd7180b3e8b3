"""A workspace's people over HTTP: listing, invitations, role changes and removals (admins
only, never leaving the workspace without an admin, never reaching another workspace),
the audit entries they leave, who the caller is (`/me`), and who created a token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.support.people import PeopleVerifier, accept_people, bearer, identity, join

MEMBERS = "/api/v1/members"
INVITATIONS = "/api/v1/members/invitations"


@pytest.fixture
def people(api: Api) -> PeopleVerifier:
    return accept_people(api.services)


async def invite(api: Api, email: str, role: str, who: str = "a_admin") -> Any:
    return await api.request("POST", INVITATIONS, who, json={"email": email, "role": role})


async def audit(api: Api, action: str, who: str = "a_admin") -> list[dict[str, Any]]:
    response = await api.request("GET", f"/api/v1/audit?action={action}", who)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_everyone_lists_the_members_and_only_admins_the_invitations(api: Api) -> None:
    alice = await join(api.services, "workspace-a", "alice@example.com", "admin")
    invited = await invite(api, "Bob@Example.com", "editor")
    assert invited.status_code == 201, invited.text
    invitation = invited.json()
    assert invitation["email"] == "bob@example.com" and invitation["role"] == "editor"
    assert invitation["invited_by"] == "admin"  # the inviting token's name
    assert invitation["id"].startswith("inv")

    as_admin = (await api.request("GET", MEMBERS)).json()
    as_viewer = await api.request("GET", MEMBERS, "a_viewer")

    assert [m["user_id"] for m in as_admin["members"]] == [alice.id]
    member = as_admin["members"][0]
    assert member["email"] == "alice@example.com" and member["display_name"] == "Alice"
    assert member["role"] == "admin" and member["joined_at"]
    assert [i["id"] for i in as_admin["invitations"]] == [invitation["id"]]
    assert as_viewer.status_code == 200
    assert as_viewer.json() == {"members": as_admin["members"], "invitations": []}
    assert (await api.request("GET", MEMBERS, "b_admin")).json() == {
        "members": [],
        "invitations": [],
    }


async def test_inviting_an_email_again_replaces_its_invitation(api: Api) -> None:
    await invite(api, "bob@example.com", "editor")
    again = await invite(api, "BOB@example.com", "viewer")

    listed = (await api.request("GET", MEMBERS)).json()["invitations"]

    assert again.status_code == 201
    assert [(i["email"], i["role"]) for i in listed] == [("bob@example.com", "viewer")]


async def test_a_cancelled_invitation_is_gone_and_joins_nobody(api: Api) -> None:
    invitation = (await invite(api, "bob@example.com", "editor")).json()
    path = f"{INVITATIONS}/{invitation['id']}"

    cancelled = await api.request("DELETE", path)
    again = await api.request("DELETE", path)
    bob = await api.services.sign_in()(identity("bob@example.com"))

    assert cancelled.status_code == 204
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert (await api.request("GET", MEMBERS)).json()["invitations"] == []
    assert bob.id not in (await api.request("GET", MEMBERS)).text
    [entry] = await audit(api, "invitation.cancelled")
    assert entry["object_id"] == invitation["id"]
    assert entry["actor"]["kind"] == "token" and entry["actor"]["name"] == "admin"


async def test_an_admin_changes_roles_and_removes_members_keeping_an_admin(api: Api) -> None:
    alice = await join(api.services, "workspace-a", "alice@example.com", "admin")
    bob = await join(api.services, "workspace-a", "bob@example.com", "editor")

    demote_last = await api.request("PATCH", f"{MEMBERS}/{alice.id}", json={"role": "viewer"})
    remove_last = await api.request("DELETE", f"{MEMBERS}/{alice.id}")
    promoted = await api.request("PATCH", f"{MEMBERS}/{bob.id}", json={"role": "admin"})
    removed = await api.request("DELETE", f"{MEMBERS}/{alice.id}")
    gone = await api.request("PATCH", f"{MEMBERS}/{alice.id}", json={"role": "admin"})

    for refused in (demote_last, remove_last):
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "last_admin"
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["user_id"] == bob.id and promoted.json()["role"] == "admin"
    assert removed.status_code == 204
    assert gone.status_code == 404
    members = (await api.request("GET", MEMBERS)).json()["members"]
    assert [(m["user_id"], m["role"]) for m in members] == [(bob.id, "admin")]
    [changed] = await audit(api, "member.role_changed")
    assert changed["object_id"] == bob.id
    assert changed["details"] == {"from": "editor", "to": "admin"}
    assert changed["actor"]["kind"] == "token" and changed["actor"]["name"] == "admin"
    [dropped] = await audit(api, "member.removed")
    assert dropped["object_id"] == alice.id and dropped["actor"]["name"] == "admin"


async def test_changes_made_by_a_person_are_theirs_in_the_audit_log(
    api: Api, people: PeopleVerifier
) -> None:
    alice = await join(api.services, "workspace-a", "alice@example.com", "admin", people)

    invited = await api.client.post(
        INVITATIONS, json={"email": "carol@example.com", "role": "viewer"}, headers=bearer("alice")
    )

    assert invited.status_code == 201, invited.text
    assert invited.json()["invited_by"] == "Alice"
    entry = (await audit(api, "member.invited"))[0]  # newest first; alice's own came before
    assert entry["actor"] == {"kind": "user", "id": alice.id, "name": "Alice"}
    assert entry["details"] == {"email": "carol@example.com", "role": "viewer"}


async def test_a_bad_role_or_email_is_422_naming_the_field(api: Api) -> None:
    bob = await join(api.services, "workspace-a", "bob@example.com", "admin")
    answers = {
        "role": await invite(api, "bob2@example.com", "owner"),
        "email": await invite(api, "not-an-email", "viewer"),
    }
    answers["role "] = await api.request("PATCH", f"{MEMBERS}/{bob.id}", json={"role": "root"})

    for field, response in answers.items():
        assert response.status_code == 422, (field, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["details"][0]["path"] == field.strip()
    unknown = await api.request(
        "POST", INVITATIONS, json={"email": "x@y.z", "role": "viewer", "x": 1}
    )
    assert unknown.status_code == 400


async def test_inviting_a_member_is_a_conflict(api: Api) -> None:
    await join(api.services, "workspace-a", "alice@example.com", "admin")

    response = await invite(api, "alice@example.com", "viewer")

    assert response.status_code == 409


async def test_viewers_and_editors_get_403_on_every_change(api: Api) -> None:
    alice = await join(api.services, "workspace-a", "alice@example.com", "admin")
    invitation = (await invite(api, "bob@example.com", "editor")).json()
    changes = [
        ("POST", INVITATIONS, {"email": "eve@example.com", "role": "admin"}),
        ("DELETE", f"{INVITATIONS}/{invitation['id']}", None),
        ("PATCH", f"{MEMBERS}/{alice.id}", {"role": "viewer"}),
        ("DELETE", f"{MEMBERS}/{alice.id}", None),
    ]
    for who in ("a_viewer", "a_editor"):
        for method, path, body in changes:
            response = await api.request(method, path, who, json=body)
            assert response.status_code == 403, (who, method, path, response.text)
            assert response.json()["error"]["code"] == "forbidden"
    listed = (await api.request("GET", MEMBERS)).json()
    assert [m["role"] for m in listed["members"]] == ["admin"]
    assert [i["email"] for i in listed["invitations"]] == ["bob@example.com"]


async def test_another_workspaces_members_and_invitations_are_404(api: Api) -> None:
    b_admin = await join(api.services, "workspace-b", "boss@example.com", "admin")
    await join(api.services, "workspace-b", "other@example.com", "admin")
    b_invitation = (await invite(api, "guest@example.com", "viewer", "b_admin")).json()
    calls = [
        ("PATCH", f"{MEMBERS}/{b_admin.id}", {"role": "viewer"}),
        ("DELETE", f"{MEMBERS}/{b_admin.id}", None),
        ("DELETE", f"{INVITATIONS}/{b_invitation['id']}", None),
    ]
    for method, path, body in calls:
        response = await api.request(method, path, "a_admin", json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    in_b = (await api.request("GET", MEMBERS, "b_admin")).json()
    assert [m["role"] for m in in_b["members"]] == ["admin", "admin"]
    assert [i["id"] for i in in_b["invitations"]] == [b_invitation["id"]]
    assert await audit(api, "member.role_changed", "b_admin") == []


async def test_me_describes_a_token(api: Api) -> None:
    response = await api.request("GET", "/api/v1/me", "a_editor")

    assert response.status_code == 200
    me = response.json()
    assert me["kind"] == "token" and me["role"] == "editor" and me["user"] is None
    assert me["workspace"]["name"] == "workspace-a"
    assert me["token"]["name"] == "editor" and me["token"]["id"].startswith("tok")
    assert me["workspaces"] == [{**me["workspace"], "role": "editor"}]


async def test_me_describes_a_person_and_all_their_workspaces(
    api: Api, people: PeopleVerifier
) -> None:
    alice = await join(api.services, "workspace-a", "alice@example.com", "viewer", people)
    await join(api.services, "workspace-b", "alice@example.com", "admin")

    unnamed = await api.client.get("/api/v1/me", headers=bearer("alice"))
    in_b = await api.client.get("/api/v1/me", headers=bearer("alice", "workspace-b"))

    assert unnamed.status_code == 400
    assert unnamed.json()["error"]["code"] == "workspace_required"
    assert in_b.status_code == 200, in_b.text
    me = in_b.json()
    assert me["kind"] == "user" and me["token"] is None
    assert me["user"] == {"id": alice.id, "email": "alice@example.com", "display_name": "Alice"}
    assert (me["workspace"]["name"], me["role"]) == ("workspace-b", "admin")
    assert [(w["name"], w["role"]) for w in me["workspaces"]] == [
        ("workspace-a", "viewer"),
        ("workspace-b", "admin"),
    ]


async def test_a_removed_person_is_refused_at_once(api: Api, people: PeopleVerifier) -> None:
    await join(api.services, "workspace-a", "alice@example.com", "admin", people)
    bob = await join(api.services, "workspace-a", "bob@example.com", "editor", people)
    before = await api.client.get(MEMBERS, headers=bearer("bob"))

    await api.request("DELETE", f"{MEMBERS}/{bob.id}")
    after = await api.client.get(MEMBERS, headers=bearer("bob"))

    assert before.status_code == 200
    assert after.status_code == 403
    assert after.json()["error"]["code"] == "not_a_member"


async def test_a_token_records_the_person_who_created_it(api: Api, people: PeopleVerifier) -> None:
    alice = await join(api.services, "workspace-a", "alice@example.com", "admin", people)

    by_alice = await api.client.post(
        "/api/v1/tokens", json={"name": "alice-ci", "role": "viewer"}, headers=bearer("alice")
    )
    by_token = await api.request("POST", "/api/v1/tokens", json={"name": "ci", "role": "viewer"})
    listed = {t["name"]: t for t in (await api.request("GET", "/api/v1/tokens")).json()}

    assert by_alice.status_code == 201, by_alice.text
    assert by_alice.json()["created_by"] == alice.id
    assert by_token.json()["created_by"] is None
    assert listed["alice-ci"]["created_by"] == alice.id
    assert listed["ci"]["created_by"] is None
