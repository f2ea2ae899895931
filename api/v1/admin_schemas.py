"""The shapes of the administration endpoints (api/v1/admin.py)."""
from __future__ import annotations

import marshmallow as ma

from engine.services.organisation import AGENCY_KINDS

_code = ma.validate.Length(min=1, max=64)
_name = ma.validate.Length(min=1, max=200)


class UserArgs(ma.Schema):
    agency_code = ma.fields.String(validate=_code)
    role = ma.fields.String(validate=_code)
    active = ma.fields.Boolean()
    text = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class UserSummarySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    email = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean(required=True)
    agency_code = ma.fields.String(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    unit_code = ma.fields.String(allow_none=True)
    unit_name = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)


class UserPageSchema(ma.Schema):
    users = ma.fields.List(ma.fields.Nested(UserSummarySchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


class MembershipSchema(ma.Schema):
    group_id = ma.fields.Integer(required=True)
    group_code = ma.fields.String(required=True)
    group_name = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    agency_code = ma.fields.String(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    unit_code = ma.fields.String(allow_none=True)
    unit_name = ma.fields.String(allow_none=True)


class HeldRoleSchema(ma.Schema):
    role = ma.fields.Function(lambda pair: pair[0], required=True)
    agency_code = ma.fields.Function(lambda pair: pair[1], allow_none=True)


class UserDetailSchema(ma.Schema):
    user = ma.fields.Nested(UserSummarySchema, required=True)
    has_password = ma.fields.Boolean(required=True)
    groups = ma.fields.List(ma.fields.Nested(MembershipSchema), required=True)
    roles = ma.fields.List(ma.fields.Nested(HeldRoleSchema), required=True)


class NewUserSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    display_name = ma.fields.String(required=True, validate=_name)
    email = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=320))
    agency_code = ma.fields.String(allow_none=True, validate=_code)
    unit_code = ma.fields.String(allow_none=True, validate=_code)
    password = ma.fields.String(allow_none=True, load_only=True, validate=ma.validate.Length(max=1024))


class UserChangeSchema(ma.Schema):
    display_name = ma.fields.String(validate=_name)
    email = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=320))
    agency_code = ma.fields.String(allow_none=True, validate=_code)
    unit_code = ma.fields.String(allow_none=True, validate=_code)
    active = ma.fields.Boolean()


class PasswordSchema(ma.Schema):
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=1024))


class RoleGrantSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=_code)
    agency_code = ma.fields.String(allow_none=True, validate=_code)
    unit_code = ma.fields.String(allow_none=True, validate=_code)


class UnitSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class AgencySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    active = ma.fields.Boolean(required=True)
    units = ma.fields.List(ma.fields.Nested(UnitSchema), required=True)


class NewAgencySchema(ma.Schema):
    code = ma.fields.String(required=True, validate=_code)
    name = ma.fields.String(required=True, validate=_name)
    kind = ma.fields.String(validate=ma.validate.OneOf(AGENCY_KINDS))


class AgencyChangeSchema(ma.Schema):
    name = ma.fields.String(validate=_name)
    kind = ma.fields.String(validate=ma.validate.OneOf(AGENCY_KINDS))
    active = ma.fields.Boolean()


class NewUnitSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=_code)
    name = ma.fields.String(required=True, validate=_name)


class UnitChangeSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=_name)


class GroupArgs(ma.Schema):
    role = ma.fields.String(validate=_code)
    agency_code = ma.fields.String(validate=_code)


class GroupSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    agency_code = ma.fields.String(allow_none=True)
    agency_name = ma.fields.String(allow_none=True)
    unit_code = ma.fields.String(allow_none=True)
    unit_name = ma.fields.String(allow_none=True)
    member_count = ma.fields.Integer(required=True)


class NewGroupSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    name = ma.fields.String(required=True, validate=_name)
    role = ma.fields.String(required=True, validate=_code)
    agency_code = ma.fields.String(allow_none=True, validate=_code)
    unit_code = ma.fields.String(allow_none=True, validate=_code)


class MemberSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    active = ma.fields.Boolean(required=True)


class NewMemberSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**63 - 1))


class AdminEventSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(required=True)
    actor = ma.fields.String(allow_none=True)
    kind = ma.fields.String(required=True)
    subject_type = ma.fields.String(required=True)
    subject_id = ma.fields.Integer(required=True)
    data = ma.fields.Dict(allow_none=True)
