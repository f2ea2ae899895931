"""Administration: staff accounts, agencies and units, groups and role grants (administrators only).

A change of groups applies to open work at once: membership is read at every request, never
copied onto work items.
"""
from __future__ import annotations

import marshmallow as ma

from engine.queries import directory
from engine.services import groups, organisation, staff
from engine.services.sessions import EndSessions, end_sessions

from .. import auth
from ..units import read, run
from .admin_schemas import (
    AdminEventSchema,
    AgencyChangeSchema,
    AgencySchema,
    GroupArgs,
    GroupSchema,
    MemberSchema,
    NewAgencySchema,
    NewGroupSchema,
    NewMemberSchema,
    NewUnitSchema,
    NewUserSchema,
    PasswordSchema,
    RoleGrantSchema,
    UnitChangeSchema,
    UserArgs,
    UserChangeSchema,
    UserDetailSchema,
    UserPageSchema,
)
from .common import SIGNED_IN, Blueprint
from .session import EndedSchema

PATH = "/admin"

blp = Blueprint("admin", __name__, description="Staff accounts, agencies, units, groups and roles (administrators).")


class CreatedSchema(ma.Schema):
    id = ma.fields.Integer(required=True)


class ChangedSchema(ma.Schema):
    changed = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "The fields that changed"})


class CountSchema(ma.Schema):
    revoked_tokens = ma.fields.Integer(required=True)


class DoneSchema(ma.Schema):
    changed = ma.fields.Boolean(required=True, metadata={"description": "False when it was so already"})


@blp.route("/users")
@blp.doc(security=SIGNED_IN)
@blp.arguments(UserArgs, location="query", as_kwargs=True)
@blp.response(200, UserPageSchema)
def list_users(**args):
    """Staff accounts in user-name order, a page at a time."""
    return read(directory.list_users, auth.principal(), **args)


@blp.route("/users", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(NewUserSchema)
@blp.response(201, CreatedSchema)
def create_user(body):
    """Open a staff account (a password of 12 characters or more, or none: no password sign-in)."""
    return {"id": run(staff.create_user, staff.CreateUser(auth.principal(), **body))}


@blp.route("/users/<id:user_id>")
@blp.doc(security=SIGNED_IN)
@blp.response(200, UserDetailSchema)
def get_user(user_id):
    """One account with its groups and the roles they give."""
    return read(directory.get_user, auth.principal(), user_id)


@blp.route("/users/<id:user_id>", methods=["PATCH"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(UserChangeSchema)
@blp.response(200, ChangedSchema)
def update_user(body, user_id):
    """Change an account: fields left out keep their value, null clears one."""
    return {"changed": list(run(staff.update_user, staff.UpdateUser(auth.principal(), user_id, **body)))}


@blp.route("/users/<id:user_id>/deactivate", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.response(200, CountSchema)
def deactivate_user(user_id):
    """Close an account: it can no longer sign in, its sessions end and its access tokens are revoked."""
    return {"revoked_tokens": run(staff.deactivate_user, staff.DeactivateUser(auth.principal(), user_id))}


@blp.route("/users/<id:user_id>/sessions", methods=["DELETE"])
@blp.doc(security=SIGNED_IN)
@blp.response(200, EndedSchema)
def end_user_sessions(user_id):
    """Sign an account out everywhere: each of its browser sessions ends (its tokens stay)."""
    return {"ended": run(end_sessions, EndSessions(auth.principal(), user_id))}


@blp.route("/users/<id:user_id>/password", methods=["PUT"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(PasswordSchema)
@blp.response(204)
def set_password(body, user_id):
    """Set an account's password (12 to 1024 characters, not containing the user name)."""
    run(staff.set_password, staff.SetPassword(auth.principal(), user_id, body["password"]))


class GrantedSchema(ma.Schema):
    group_id = ma.fields.Integer(required=True, metadata={"description": "The group that gives the role there"})


class RevokedSchema(ma.Schema):
    groups_left = ma.fields.Integer(required=True)


@blp.route("/users/<id:user_id>/roles", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(RoleGrantSchema)
@blp.response(200, GrantedSchema)
def grant_role(body, user_id):
    """Grant a role in an agency (or unit), or for every agency: the user joins that role's group."""
    return {"group_id": run(groups.grant_role, groups.GrantRole(auth.principal(), user_id, **body))}


@blp.route("/users/<id:user_id>/roles/revoke", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(RoleGrantSchema)
@blp.response(200, RevokedSchema)
def revoke_role(body, user_id):
    """Take a role away: the user leaves the groups that give it there."""
    return {"groups_left": run(groups.revoke_role, groups.RevokeRole(auth.principal(), user_id, **body))}


@blp.route("/agencies")
@blp.doc(security=SIGNED_IN)
@blp.response(200, AgencySchema(many=True))
def list_agencies():
    """Every agency with its units."""
    return list(read(directory.list_agencies, auth.principal()))


@blp.route("/agencies", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(NewAgencySchema)
@blp.response(201, CreatedSchema)
def create_agency(body):
    """Add an agency (one commission at most)."""
    return {"id": run(organisation.create_agency, organisation.CreateAgency(auth.principal(), **body))}


@blp.route("/agencies/<string:code>", methods=["PATCH"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(AgencyChangeSchema)
@blp.response(200, ChangedSchema)
def update_agency(body, code):
    """Rename, re-kind or close an agency (not one with open cases)."""
    return {"changed": list(run(organisation.update_agency,
                                organisation.UpdateAgency(auth.principal(), code, **body)))}


@blp.route("/agencies/<string:agency_code>/units", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(NewUnitSchema)
@blp.response(201, CreatedSchema)
def create_unit(body, agency_code):
    """Add a unit (科) to an agency."""
    return {"id": run(organisation.create_unit, organisation.CreateUnit(auth.principal(), agency_code, **body))}


@blp.route("/agencies/<string:agency_code>/units/<string:code>", methods=["PATCH"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(UnitChangeSchema)
@blp.response(200, DoneSchema)
def update_unit(body, agency_code, code):
    """Rename a unit."""
    return {"changed": bool(run(organisation.update_unit,
                                organisation.UpdateUnit(auth.principal(), agency_code, code, body["name"])))}


@blp.route("/groups")
@blp.doc(security=SIGNED_IN)
@blp.arguments(GroupArgs, location="query", as_kwargs=True)
@blp.response(200, GroupSchema(many=True))
def list_groups(**args):
    """Groups with where their role is held and how many members they have."""
    return list(read(directory.list_groups, auth.principal(), **args))


@blp.route("/groups", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(NewGroupSchema)
@blp.response(201, CreatedSchema)
def create_group(body):
    """Make a group: a role held in an agency, one of its units, or every agency."""
    return {"id": run(groups.create_group, groups.CreateGroup(auth.principal(), **body))}


@blp.route("/groups/<string:code>/members")
@blp.doc(security=SIGNED_IN)
@blp.response(200, MemberSchema(many=True))
def members(code):
    """The members of a group."""
    return list(read(directory.group_members_of, auth.principal(), code))


@blp.route("/groups/<string:code>/members", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(NewMemberSchema)
@blp.response(200, DoneSchema)
def add_member(body, code):
    """Add a user to a group: they see its open work at their next request."""
    return {"changed": bool(run(groups.add_member, groups.AddMember(auth.principal(), code, body["user_id"])))}


@blp.route("/groups/<string:code>/members/<id:user_id>", methods=["DELETE"])
@blp.doc(security=SIGNED_IN)
@blp.response(200, DoneSchema)
def remove_member(code, user_id):
    """Take a user out of a group: its open work leaves their inbox at once."""
    return {"changed": bool(run(groups.remove_member, groups.RemoveMember(auth.principal(), code, user_id)))}


@blp.route("/history/<string:subject_type>/<id:subject_id>")
@blp.doc(security=SIGNED_IN)
@blp.response(200, AdminEventSchema(many=True))
def history(subject_type, subject_id):
    """The latest changes to one user, agency, unit or group, newest first."""
    return list(read(directory.admin_history, auth.principal(), subject_type, subject_id))
