"""REST: who am I."""

from django.http import HttpRequest
from ninja import Field, Router, Schema

from guanxi.users.models import User

router = Router(tags=["users"])


class ErrorOut(Schema):
    detail: str = Field(description="What went wrong.")


class TeamRef(Schema):
    id: int
    name: str


class MeOut(Schema):
    id: int
    username: str
    name: str = Field(description="Display name.")
    email: str
    team: TeamRef | None
    time_zone: str = Field(description="IANA time zone used to show times, e.g. Asia/Shanghai.")
    language: str = Field(description="Preferred language; empty means the browser's.")
    permissions: list[str] = Field(description="Permission codes, e.g. customers.add_customer.")


@router.get(
    "/me",
    response={200: MeOut, 401: ErrorOut, 429: ErrorOut},
    url_name="me",
    summary="The user behind the token or session",
)
def me(request: HttpRequest) -> MeOut:
    user: User = request.auth  # type: ignore[attr-defined]
    return MeOut(
        id=user.pk,
        username=user.username,
        name=str(user),
        email=user.email,
        team=TeamRef(id=user.team.pk, name=user.team.name) if user.team else None,
        time_zone=user.time_zone,
        language=user.language,
        permissions=sorted(user.get_all_permissions()),
    )
